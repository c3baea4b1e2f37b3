# SPDX-License-Identifier: MIT
"""Where a training step's time goes, per operator (docs/training.md).

    python benchmarks/train_profile.py            # this CPU's own kernels (bf16 autocast where native)
    python benchmarks/train_profile.py --avx2     # PyTorch limited to AVX2 kernels: fp32

``torch.profiler`` over ``--steps`` training steps of the engine (``Trainer.train_batch``: the model,
batch 128 of full-size Fashion-MNIST, SGD + Nesterov) after 3 warm-ups; each operator's self time in
ms per step, and the share of the step spent in convolutions (forward and backward) and in batch norm.
Alongside, the convolutions' multiply-adds per step (forward from the cost model's FlopCounterMode
count, backward counted as twice the forward: the gradients of the input and of the weights) over their
time: the rate the convolution kernels reach. Writes ``benchmarks/results/train_profile-{native,
avx2-emulated}.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from convzoo.provenance import add_machine_arguments, start_measuring
from convzoo.runtime import Context
from convzoo.training import TrainConfig
from convzoo.training.engine import Trainer

CONVOLUTION = ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::_convolution")
BATCH_NORM = ("aten::native_batch_norm", "aten::native_batch_norm_backward", "aten::_batch_norm_impl_index")


def convolution_macs(trainer: Trainer, images: torch.Tensor) -> int:
    """Forward multiply-adds of the model's convolutions on one batch, counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        trainer.model(trainer.adapter(images))
    flops = counter.get_flop_counts().get("Global", {})
    return sum(count for op, count in flops.items() if "convolution" in str(op)) // 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cifar_resnet20")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--channels-last", action="store_true")
    add_machine_arguments(parser)
    args = parser.parse_args()
    record = start_measuring(args)
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(
            model=args.model,
            data="fashion-mnist",
            batch_size=128,
            channels_last=args.channels_last,
            out=out,
            progress=False,
            crop_padding=0,
            flip=False,
        )
        trainer = Trainer(config, Context())
        try:
            trainer.net.train()
            batches = trainer.train_loader.batches()
            for _ in range(3):
                trainer.train_batch(*next(batches))
            timed = [next(batches) for _ in range(args.steps)]
            with profile(activities=[ProfilerActivity.CPU]) as profiler:
                for images, labels in timed:
                    trainer.train_batch(images, labels)
            macs = convolution_macs(trainer, timed[0][0])
        finally:
            trainer.lock.release()
    by_op: Counter[str] = Counter()
    for event in profiler.key_averages():
        by_op[event.key] += event.self_cpu_time_total / 1000 / args.steps  # ms per step
    step_ms = sum(by_op.values())
    conv_ms = sum(v for k, v in by_op.items() if k in CONVOLUTION)
    norm_ms = sum(v for k, v in by_op.items() if k in BATCH_NORM)
    result = {
        **record,
        "model": args.model,
        "batch": 128,
        "steps": args.steps,
        "amp": str(trainer.amp_dtype),
        "channels_last": args.channels_last,
        "step_ms": round(step_ms, 1),
        "convolution_share": round(conv_ms / step_ms, 3),
        "batch_norm_share": round(norm_ms / step_ms, 3),
        "convolution_macs_per_step": 3 * macs,  # forward, and twice that backward
        "convolution_gmacs_per_s": round(3 * macs / (conv_ms / 1000) / 1e9, 1),
        "ms_per_step": {k: round(v, 2) for k, v in by_op.most_common(12)},
    }
    target = Path(__file__).parent / "results" / f"train_profile-{'avx2-emulated' if args.avx2 else 'native'}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {k: result[k] for k in ("step_ms", "convolution_share", "batch_norm_share", "convolution_gmacs_per_s")}
        )
    )
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
