# SPDX-License-Identifier: MIT
"""Top-1 agreement of the optimized bf16 model with fp32 on real images.

    python benchmarks/bf16_agreement.py --checkpoint runs/cifar_resnet20-fashion-mnist/last.pt

Runs a trained checkpoint over the full Fashion-MNIST test split (10,000 images) in fp32 eager and
through ``convzoo.deploy.optimize(dtype="bf16")`` (and ``compile=True`` with ``--compile``), and
reports how often the two predict the same class, and both accuracies. Target: agreement ≥ 99%.
Writes ``benchmarks/results/bf16_agreement.json`` with the command, commit and CPU kind, and the
checkpoint's SHA-256 (a checkpoint under /tmp does not outlive the machine; its hash names it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from convzoo import checkpoint as ckpt
from convzoo.data import BatchLoader, load_dataset
from convzoo.deploy import optimize
from convzoo.provenance import provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bf16_agreement.json")
    parser.add_argument("--allow-dirty", action="store_true", help="record figures from uncommitted code, marked dirty")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    checkpoint = ckpt.load(args.checkpoint)
    model = checkpoint.build_model().eval()
    data = load_dataset(args.data)
    adapter = checkpoint.model.adapter(data.channels)
    loader = BatchLoader(data.test_images, data.test_labels, 256)
    example = adapter(data.test_images[:16])
    fast = optimize(model, example, dtype="bf16", compile=args.compile).module
    agree = correct32 = correct16 = total = 0
    with torch.inference_mode():
        for images, labels in loader:
            x = adapter(images)
            p32, p16 = model(x).argmax(1), fast(x).argmax(1)
            agree += (p32 == p16).sum().item()
            correct32 += (p32 == labels).sum().item()
            correct16 += (p16 == labels).sum().item()
            total += len(labels)
    result = {
        **record,
        "checkpoint": str(args.checkpoint),
        "checkpoint_sha256": hashlib.sha256(args.checkpoint.read_bytes()).hexdigest(),
        "model": checkpoint.model.name,
        "images": total,
        "top1_agreement": round(agree / total, 5),
        "top1_fp32": round(correct32 / total, 5),
        "top1_bf16": round(correct16 / total, 5),
        "compile": args.compile,
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
