# SPDX-License-Identifier: MIT
"""Int8 inference, both paths: agreement with fp32 on real images, and speed (docs/deploy.md).

    python benchmarks/int8_speed.py [--checkpoint RUN/last.pt] [--repeats 5]   # this CPU's own kernels
    python benchmarks/int8_speed.py --avx2 ...                                  # PyTorch limited to AVX2

The two int8 paths are ONNX Runtime's static quantizer (``convzoo export --int8``) and PyTorch's PT2E with
the x86 Inductor quantizer, compiled (``optimize(..., dtype="int8")``).

1. **Agreement.** A trained cifar_resnet20 (``--checkpoint``, recorded with its SHA-256; without it,
   ``convzoo train`` on full Fashion-MNIST for ``--epochs``). ``convzoo export --int8 --calibrate
   fashion-mnist`` and ``optimize(dtype="int8")`` each take their scales from 16 batches of 32 training
   images; top-1 agreement of each int8 model with fp32 on the 10,000 test images, and each one's accuracy.
2. **Speed.** resnet50, batch 16 at 224 px, interleaved in one process: eager torchvision (PyTorch fp32);
   ours optimized (folded, channels-last), optimized and compiled in fp32, and in int8; ours exported to
   ONNX Runtime fp32 and int8 (int8 calibrated on noise: the scales change the numbers, not the speed).
   Ratios are images/s over eager torchvision's.

``--avx2`` reruns the script with PyTorch limited to AVX2 kernels (``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2``); ONNX Runtime has no such switch and keeps the CPU's AVX-512 and VNNI. Writes
``benchmarks/results/int8_speed-{native,avx2-emulated}.json`` with the command, commit and CPU kind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from convzoo.bench.timing import time_interleaved
from convzoo.deploy import optimize
from convzoo.deploy.export import export, onnxruntime_session
from convzoo.deploy.int8 import count_quantized_convs, quantize_onnx
from convzoo.provenance import add_machine_arguments, start_measuring
from convzoo.weights.reference import paired_models

CALIBRATION = (16, 32)  # batches, images per batch: convzoo export --int8's defaults


def trained_checkpoint(directory: Path, epochs: int) -> tuple[Path, str]:
    run = directory / "run"
    train = ["train", "--model", "cifar_resnet20", "--data", "fashion-mnist", "--epochs", str(epochs)]
    subprocess.run([sys.executable, "-m", "convzoo", *train, "--no-progress", "--out", str(run)], check=True)
    return run / "last.pt", f"convzoo {' '.join(train)}"


def agreement(directory: Path, checkpoint: Path) -> dict:
    from convzoo import checkpoint as ckpt
    from convzoo.data import load_dataset

    onnx = directory / "fmnist.onnx"
    export_command = ["export", "--checkpoint", str(checkpoint), "--out", str(onnx), "--int8"]
    subprocess.run([sys.executable, "-m", "convzoo", *export_command, "--calibrate", "fashion-mnist"], check=True)
    loaded, data = ckpt.load(checkpoint), load_dataset("fashion-mnist")
    adapter, model = loaded.model.adapter(data.channels), loaded.build_model().eval()
    batches, size = CALIBRATION
    loader = data.train_loader(size, None, seed=0, workers=0)  # the images convzoo export --int8 calibrates on
    with torch.no_grad():
        # strict=False: the first `batches` batches of an epoch that holds more
        calibration = [adapter(x) for _, (x, _labels) in zip(range(batches), loader, strict=False)]
        tests = [adapter(data.test_images[i : i + 500]) for i in range(0, len(data.test_images), 500)]
        pytorch_int8 = optimize(model, tests[0], dtype="int8", calibration=calibration).module
        predicted = {
            "fp32": torch.cat([model(x).argmax(1) for x in tests]).numpy(),
            "pytorch int8": torch.cat([pytorch_int8(x).argmax(1) for x in tests]).numpy(),
        }
    for name, path in (("onnxruntime fp32", onnx), ("onnxruntime int8", onnx.with_suffix(".int8.onnx"))):
        session = onnxruntime_session(path)
        predicted[name] = np.concatenate([session.run(None, {"images": x.numpy()})[0].argmax(1) for x in tests])
    labels = data.test_labels.numpy()
    counted = count_quantized_convs(onnx, onnx.with_suffix(".int8.onnx"))
    return {
        "model": loaded.model.name,
        "data": "fashion-mnist",
        "test_images": len(labels),
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
        "top1_agreement_with_fp32": {
            name: round(float((predicted[name] == predicted[reference]).mean()), 4)
            for name, reference in (("pytorch int8", "fp32"), ("onnxruntime int8", "onnxruntime fp32"))
        },
        "test_top1": {name: round(float((p == labels).mean()), 4) for name, p in predicted.items()},
        "convolutions_int8": f"{counted.quantized} of {counted.convolutions}",
        "calibration": f"{batches} batches of {size} training images",
        "commands": [f"convzoo {' '.join(export_command)} --calibrate fashion-mnist"],
    }


def speed(directory: Path, repeats: int) -> dict:
    import onnxruntime

    reference, ours = paired_models("resnet50", "torchvision")
    reference.eval()
    x = torch.randn(16, 3, 224, 224)
    fp32 = export(ours.eval(), x[:1], "onnx", directory / "resnet50.onnx")
    rng = np.random.default_rng(0)
    noise = [rng.standard_normal((16, 3, 224, 224)).astype(np.float32) for _ in range(4)]
    int8 = directory / "resnet50.int8.onnx"
    counted = quantize_onnx(fp32, int8, noise)
    optimized = {
        "convzoo optimized fp32": optimize(ours, x).module,
        "convzoo optimized+compiled fp32": optimize(ours, x, compile=True).module,
        "convzoo optimized+compiled int8 (PT2E)": optimize(
            ours, x, dtype="int8", calibration=[torch.from_numpy(n) for n in noise]
        ).module,
    }
    sessions = {
        name: onnxruntime_session(path) for name, path in (("onnxruntime fp32", fp32), ("onnxruntime int8", int8))
    }
    feed = {"images": x.numpy()}

    def eager():
        with torch.inference_mode():
            return reference(x)

    def run_ours(module):
        def infer():
            with torch.inference_mode():
                return module(x)

        return infer

    candidates = {"torchvision eager fp32": eager, **{name: run_ours(m) for name, m in optimized.items()}}
    candidates.update({name: (lambda s=session: s.run(None, feed)) for name, session in sessions.items()})
    timings = time_interleaved(candidates, warmup=2, repeats=repeats)
    base = timings["torchvision eager fp32"].median
    return {
        "model": "resnet50",
        "batch": 16,
        "size": 224,
        "repeats": repeats,
        "convolutions_int8": f"{counted.quantized} of {counted.convolutions}",
        "images_per_s": {name: round(16 / t.median, 1) for name, t in timings.items()},
        "ratio_to_eager_torchvision": {name: round(base / t.median, 3) for name, t in timings.items()},
        "onnxruntime": onnxruntime.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="a trained Fashion-MNIST checkpoint (default: train one)")
    parser.add_argument("--epochs", type=int, default=2, help="without --checkpoint: epochs of the one trained")
    parser.add_argument("--repeats", type=int, default=5)
    add_machine_arguments(parser)
    args = parser.parse_args()
    record = start_measuring(args)
    with tempfile.TemporaryDirectory() as directory:
        measured = {"speed": speed(Path(directory), args.repeats)}
        print(json.dumps(measured["speed"], indent=2), flush=True)
        checkpoint, trained_by = args.checkpoint, None
        if checkpoint is None:
            checkpoint, trained_by = trained_checkpoint(Path(directory), args.epochs)
        measured["agreement"] = {**agreement(Path(directory), checkpoint), "trained_by": trained_by}
        print(json.dumps(measured["agreement"], indent=2), flush=True)
    name = "avx2-emulated" if args.avx2 else "native"
    out = Path(__file__).parent / "results" / f"int8_speed-{name}.json"
    out.write_text(json.dumps({**record, **measured}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
