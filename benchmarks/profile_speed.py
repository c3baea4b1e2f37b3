# SPDX-License-Identifier: MIT
"""How long ``convzoo.profile`` takes against plain forward passes of the same model.

    python benchmarks/profile_speed.py                 # resnet50 at 224, batch 1
    python benchmarks/profile_speed.py efficientnet_b0 --size 224

The profiler runs one forward pass under a dispatch mode with module hooks;
the target is "well under the time of a few forward passes". Writes
``benchmarks/results/profile_speed.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import convzoo
from convzoo.bench import time_interleaved
from convzoo.provenance import provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["resnet50", "efficientnet_b0", "convnext_tiny"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "profile_speed.json")
    parser.add_argument("--allow-dirty", action="store_true", help="record figures from uncommitted code, marked dirty")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    rows = []
    for name in args.models:
        model = convzoo.create_model(name).eval()
        x = torch.randn(1, 3, args.size, args.size)

        def forward(model=model, x=x):
            with torch.no_grad():
                model(x)

        timings = time_interleaved(
            {"forward": forward, "profile": lambda model=model: convzoo.profile(model, (3, args.size, args.size))},
            repeats=args.repeats,
        )
        ratio = timings["profile"].median / timings["forward"].median
        rows.append(
            {
                "model": name,
                "size": args.size,
                "forward_ms": round(timings["forward"].median * 1000, 1),
                "profile_ms": round(timings["profile"].median * 1000, 1),
                "profile_over_forward": round(ratio, 2),
            }
        )
        print(rows[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({**record, "torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}, indent=2)
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
