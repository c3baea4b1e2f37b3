# SPDX-License-Identifier: MIT
"""Optimized inference against eager torchvision, batch 16 at 224 on the CPU (docs/deploy.md).

    python benchmarks/deploy_speed.py

Five variants of ``convzoo bench MODELS --batch 16 --against torchvision``: eager, ``--optimize``,
``--optimize --compile``, and both optimized ones in bf16 (skipped where the CPU has no native bf16).
Each variant runs in its own process, as a user would run it: in one process, torch.compile's
recompilation limit (8 per code object) is reached after a few models and later ones silently run
eager.
Each writes ``benchmarks/results/deploy-VARIANT.json`` with the command, the commit (a dirty tree is
refused unless ``--allow-dirty``) and the CPU kind; the ratio is our images/s over eager torchvision's,
measured interleaved in the same process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from convzoo.provenance import provenance
from convzoo.runtime import cpu_supports_bf16

VARIANTS = {  # name: `convzoo bench` flags
    "eager": [],
    "optimized-fp32": ["--optimize"],
    "compiled-fp32": ["--optimize", "--compile"],
    "optimized-bf16": ["--optimize", "--dtype", "bf16"],
    "compiled-bf16": ["--optimize", "--compile", "--dtype", "bf16"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["resnet50", "efficientnet_b0", "mobilenet_v2"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--allow-dirty", action="store_true", help="record figures from uncommitted code, marked dirty")
    args = parser.parse_args()
    record = provenance(allow_dirty=args.allow_dirty)
    results = Path(__file__).parent / "results"
    common = ["--batch", "16", "--size", "224", "--against", "torchvision", "--repeats", str(args.repeats)]
    for variant, flags in VARIANTS.items():
        if "bf16" in flags and not cpu_supports_bf16():
            print(f"{variant:16s} skipped: no native bf16 on this CPU")
            continue
        command = ["convzoo", "bench", *args.models, *common, "--no-memory", "--format", "json", *flags]
        completed = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, check=True)
        rows = json.loads(completed.stdout)
        payload = {**record, "variant": variant, "bench_command": " ".join(command), "rows": rows}
        (results / f"deploy-{variant}.json").write_text(json.dumps(payload, indent=2) + "\n")
        for row in rows:
            if row["impl"] == "convzoo":
                print(
                    f"{variant:16s} {row['model']:16s} {row['images_per_s']:8.1f} images/s  {row['ratio']:.3f}x eager "
                    "torchvision",
                    flush=True,
                )


if __name__ == "__main__":
    main()
