# SPDX-License-Identifier: MIT
"""Eager inference speed of convzoo against the reference implementation, side by side.

Same process, same weights (converted from the reference), interleaved
repeats after warm-up, median taken. ``speed ratio`` = reference time / our
time: 1.00 means equally fast, above 1 means convzoo is faster. Target ≥ 0.97.

    python benchmarks/eager_speed.py                       # the default line-up, batch 16 at 224, CPU
    python benchmarks/eager_speed.py resnet50 --repeats 15  # one model, more repeats

Writes ``benchmarks/results/eager_speed.json`` with the config, torch version and git commit.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from convzoo.bench import time_interleaved
from convzoo.provenance import provenance
from convzoo.registry import get_entry
from convzoo.weights.reference import paired_models

DEFAULT_MODELS = [
    "resnet50",
    "resnext50_32x4d",
    "vgg16",
    "googlenet",  # against torchvision
    "efficientnet_b0",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "convnext_tiny",
    "xception",  # against timm
]
# compared with timm even where torchvision has the model too: timm is their reference implementation
AGAINST_TIMM = {"efficientnet_b0", "mobilenet_v2", "mobilenet_v3_large", "convnext_tiny", "xception"}


@dataclass
class Config:
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    batch: int = 16  # images per forward pass
    size: int = 224  # input height and width, pixels
    warmup: int = 2  # untimed forward passes per model
    repeats: int = 7  # timed forward passes per model, interleaved
    threads: int = torch.get_num_threads()


def source_for(name: str) -> str:
    references = get_entry(name).reference
    if name in AGAINST_TIMM and "timm" in references:
        return "timm"
    return "torchvision" if "torchvision" in references else "timm"


def measure(name: str, config: Config) -> dict:
    source = source_for(name)
    reference, ours = paired_models(name, source)
    x = torch.randn(config.batch, 3, config.size, config.size)

    def run(model):
        return lambda: model(x)

    with torch.inference_mode():
        timings = time_interleaved(
            {"ours": run(ours), "reference": run(reference)}, warmup=config.warmup, repeats=config.repeats
        )
    ours_s, reference_s = timings["ours"].median, timings["reference"].median
    return {
        "model": name,
        "reference": f"{source}:{get_entry(name).reference[source]}",
        "ours_ms": round(ours_s * 1000, 1),
        "reference_ms": round(reference_s * 1000, 1),
        "speed_ratio": round(reference_s / ours_s, 3),
        "ours_images_per_s": round(config.batch / ours_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "eager_speed.json")
    parser.add_argument("--allow-dirty", action="store_true", help="record figures from uncommitted code, marked dirty")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    config = Config(models=args.models, batch=args.batch, size=args.size, repeats=args.repeats)
    rows = []
    for name in config.models:
        row = measure(name, config)
        rows.append(row)
        print(
            f"{row['model']:20s} {row['reference']:28s} ours {row['ours_ms']:8.1f} ms  "
            f"ref {row['reference_ms']:8.1f} ms  speed ratio {row['speed_ratio']:.3f}",
            flush=True,
        )
    result = {**record, "config": asdict(config), "torch": torch.__version__, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
