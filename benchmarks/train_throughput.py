# SPDX-License-Identifier: MIT
"""Training throughput of the engine against a plain hand-written PyTorch loop over the same model.

    python benchmarks/train_throughput.py                   # cifar_resnet20, resnet18, mobilenet_v2 (small input)
    python benchmarks/train_throughput.py --amp none        # fp32
    python benchmarks/train_throughput.py --avx2            # PyTorch limited to AVX2 kernels (fp32)

Both loops run the same model (same weights), optimizer (SGD, Nesterov), loss (label smoothing 0.1),
autocast dtype and batches from the same in-memory Fashion-MNIST images; they alternate in blocks of
steps and the median block is kept. The engine's step is ``Trainer.train_batch`` fed by its
``BatchLoader`` (uint8 → float, normalization, schedule step, metric bookkeeping); the plain loop is
the five lines every tutorial writes, fed pre-normalized tensors. Batch augmentation (crop + flip)
is timed on its own. Writes ``benchmarks/results/train_throughput.json`` (``train_throughput-avx2-emulated.json``
with ``--avx2``, which reruns the script with ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2``).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from convzoo.data import Augment, BatchLoader
from convzoo.provenance import add_machine_arguments, start_measuring
from convzoo.runtime import Context, autocast
from convzoo.training import TrainConfig
from convzoo.training.engine import Trainer

MODELS = ["cifar_resnet20", "resnet18", "mobilenet_v2"]


def plain_loop(model, batches, amp_dtype):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)

    def run():
        for x, y in batches:
            with autocast(torch.device("cpu"), amp_dtype):
                loss = F.cross_entropy(model(x).float(), y, label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return run


def measure(name: str, args) -> dict:
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(
            model=name,
            data="fashion-mnist",
            batch_size=args.batch,
            amp=args.amp,
            channels_last=args.channels_last,
            out=out,
            progress=False,
            crop_padding=0,
            flip=False,
        )
        trainer = Trainer(config, Context())
        trainer.net.train()
        loader = BatchLoader(trainer.data.train_images, trainer.data.train_labels, args.batch, shuffle=True, seed=0)
        raw = [b for _, b in zip(range(args.steps), loader, strict=False)]  # the first --steps batches of an epoch
        normalized = [(trainer.adapter(x), y) for x, y in raw]
        if args.channels_last:
            normalized = [(x.contiguous(memory_format=torch.channels_last), y) for x, y in normalized]
        plain_model = copy.deepcopy(trainer.model)
        plain = plain_loop(plain_model, normalized, trainer.amp_dtype)

        def engine():
            for x, y in raw:
                trainer.train_batch(x, y)

        times = {"engine": [], "plain": []}
        engine(), plain()  # warm-up
        for _ in range(args.blocks):
            for label, fn in (("engine", engine), ("plain", plain)):
                start = time.perf_counter()
                fn()
                times[label].append(time.perf_counter() - start)
        augment_loader = BatchLoader(
            trainer.data.train_images, trainer.data.train_labels, args.batch, shuffle=True, augment=Augment(2, True)
        )
        next(iter(augment_loader))  # warm-up
        start = time.perf_counter()
        augmented = sum(len(y) for _, y in augment_loader)  # one whole epoch
        augment_s = time.perf_counter() - start
    images = args.steps * args.batch
    engine_ips, plain_ips = images / statistics.median(times["engine"]), images / statistics.median(times["plain"])
    return {
        "model": name,
        "small_input": bool(trainer.model_kwargs.get("small_input")),
        "engine_images_per_s": round(engine_ips, 1),
        "plain_images_per_s": round(plain_ips, 1),
        "engine_overhead": round(plain_ips / engine_ips - 1, 4),
        "augment_images_per_s": round(augmented / augment_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=MODELS)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed block")
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--amp", default="auto")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="default: results/train_throughput[-avx2-emulated].json")
    add_machine_arguments(parser)
    args = parser.parse_args()
    name = "train_throughput-avx2-emulated.json" if args.avx2 else "train_throughput.json"
    args.out = args.out or Path(__file__).parent / "results" / name
    record = start_measuring(args)
    rows = []
    for name in args.models:
        rows.append(measure(name, args))
        print(rows[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {**record, "args": vars(args) | {"out": str(args.out)}, "torch": torch.__version__, "rows": rows}, indent=2
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
