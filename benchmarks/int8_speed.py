"""Int8 inference (ONNX Runtime static quantization): agreement with fp32 on real images, and speed (docs/deploy.md).

    python benchmarks/int8_speed.py [--epochs 2] [--repeats 5]

1. **Agreement.** ``convzoo train`` cifar_resnet20 on full Fashion-MNIST for ``--epochs``, then
   ``convzoo export --int8 --calibrate fashion-mnist`` (16 batches of 32 training images set the scales);
   top-1 agreement of the int8 and fp32 ONNX models on the 10,000 test images, and each one's accuracy.
2. **Speed.** resnet50, batch 16 at 224 px, interleaved in one process: eager torchvision (PyTorch fp32), our
   model exported to ONNX Runtime fp32, and its int8 version (calibrated on 4 batches of noise: the scales
   change the numbers, not the speed). Ratios are images/s over eager torchvision's.

Writes ``benchmarks/results/int8_speed.json`` with the command, commit and CPU kind.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from convzoo.bench.timing import time_interleaved
from convzoo.deploy.export import export, onnxruntime_session
from convzoo.deploy.int8 import count_quantized_convs, quantize_onnx
from convzoo.provenance import provenance
from convzoo.weights.reference import paired_models


def agreement(directory: Path, epochs: int) -> dict:
    from convzoo import checkpoint as ckpt
    from convzoo.data import load_dataset
    from convzoo.deploy.int8 import top1_agreement

    run = directory / "run"
    train = ["train", "--model", "cifar_resnet20", "--data", "fashion-mnist", "--epochs", str(epochs)]
    subprocess.run([sys.executable, "-m", "convzoo", *train, "--no-progress", "--out", str(run)], check=True)
    onnx = directory / "fmnist.onnx"
    export_command = ["export", "--checkpoint", str(run / "last.pt"), "--out", str(onnx), "--int8"]
    subprocess.run([sys.executable, "-m", "convzoo", *export_command, "--calibrate", "fashion-mnist"], check=True)
    spec, data = ckpt.load(run / "last.pt").model, load_dataset("fashion-mnist")
    adapter = spec.adapter(data.channels)
    with torch.no_grad():
        batches = [adapter(data.test_images[i : i + 500]).numpy() for i in range(0, len(data.test_images), 500)]
    labels = data.test_labels.numpy()
    same, count = top1_agreement(onnx, onnx.with_suffix(".int8.onnx"), batches)
    accuracy = {}
    for name, path in (("fp32", onnx), ("int8", onnx.with_suffix(".int8.onnx"))):
        session = onnxruntime_session(path)
        predicted = np.concatenate([session.run(None, {"images": b})[0].argmax(1) for b in batches])
        accuracy[name] = round(float((predicted == labels).mean()), 4)
    counted = count_quantized_convs(onnx, onnx.with_suffix(".int8.onnx"))
    return {
        "model": "cifar_resnet20", "data": "fashion-mnist", "epochs": epochs, "test_images": count,
        "top1_agreement": round(same, 4), "test_top1": accuracy,
        "convolutions_int8": f"{counted.quantized} of {counted.convolutions}",
        "commands": [f"convzoo {' '.join(train)}", f"convzoo {' '.join(export_command)} --calibrate fashion-mnist"],
    }  # fmt: skip


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
    sessions = {
        name: onnxruntime_session(path) for name, path in (("onnxruntime fp32", fp32), ("onnxruntime int8", int8))
    }
    feed = {"images": x.numpy()}

    def eager():
        with torch.inference_mode():
            return reference(x)

    candidates = {"torchvision eager fp32": eager}
    candidates.update({name: (lambda s=session: s.run(None, feed)) for name, session in sessions.items()})
    timings = time_interleaved(candidates, warmup=2, repeats=repeats)
    base = timings["torchvision eager fp32"].median
    return {
        "model": "resnet50", "batch": 16, "size": 224, "repeats": repeats,
        "convolutions_int8": f"{counted.quantized} of {counted.convolutions}",
        "images_per_s": {name: round(16 / t.median, 1) for name, t in timings.items()},
        "ratio_to_eager_torchvision": {name: round(base / t.median, 3) for name, t in timings.items()},
        "onnxruntime": onnxruntime.__version__,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--allow-dirty", action="store_true")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    with tempfile.TemporaryDirectory() as directory:
        measured = {"speed": speed(Path(directory), args.repeats)}
        print(json.dumps(measured["speed"], indent=2), flush=True)
        measured["agreement"] = agreement(Path(directory), args.epochs)
        print(json.dumps(measured["agreement"], indent=2), flush=True)
    out = Path(__file__).parent / "results" / "int8_speed.json"
    out.write_text(json.dumps({**record, **measured}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
