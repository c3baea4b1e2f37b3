# SPDX-License-Identifier: MIT
"""CPU inference against eager torchvision and ONNX Runtime, interleaved in one process (docs/deploy.md).

    python benchmarks/onnxruntime_speed.py [--avx2] [--no-compile] [MODELS...]

For each variant of ours (eager, ``--optimize``, ``--optimize --compile``) one process runs
``convzoo bench MODELS --batch 16 --against torchvision,onnxruntime``: our model, eager torchvision and
our model exported to ONNX Runtime 1.x (fp32, all graph optimisations, torch's thread count), round-robin,
median of ``--repeats``. Every ratio is images/s over eager torchvision's in that same process.

``--avx2`` limits PyTorch to AVX2 kernels (``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2``), the
closest this AMX machine comes to an AVX2-only CPU. ONNX Runtime has no such switch: its kernels still use
the CPU's AVX-512/VNNI, so under ``--avx2`` it is faster than it would be on a real AVX2 CPU and the ratio
against it is a lower bound for ours. Writes ``benchmarks/results/onnxruntime-{native,avx2-emulated}.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from convzoo.provenance import provenance
from convzoo.runtime import AVX2_ONLY

VARIANTS = {"eager": [], "optimized": ["--optimize"], "compiled": ["--optimize", "--compile"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["resnet50", "efficientnet_b0", "mobilenet_v2"])
    parser.add_argument("--avx2", action="store_true", help="limit PyTorch to AVX2 kernels (see above)")
    parser.add_argument("--no-compile", action="store_true", help="leave out the compiled variant (minutes each)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--allow-dirty", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, **(AVX2_ONLY if args.avx2 else {})}
    record = provenance(allow_dirty=args.allow_dirty)
    record["environment"] = json.loads(  # the CPU kind as the measuring processes see it (AVX2 when limited)
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import json; from convzoo.provenance import environment; print(json.dumps(environment()))",
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
    )
    variants = {k: v for k, v in VARIANTS.items() if not (args.no_compile and "--compile" in v)}
    common = ["--batch", "16", "--size", "224", "--against", "torchvision,onnxruntime", "--repeats", str(args.repeats)]
    runs = {}
    for variant, flags in variants.items():
        command = ["convzoo", "bench", *args.models, *common, "--no-memory", "--format", "json", *flags]
        completed = subprocess.run(
            [sys.executable, "-m", *command], capture_output=True, text=True, env=env, check=False
        )
        if completed.returncode != 0:
            raise SystemExit(f"{variant}: {completed.stderr.strip().splitlines()[-1]}")
        runs[variant] = {"bench_command": " ".join(command), "rows": json.loads(completed.stdout)}
        for row in runs[variant]["rows"]:
            print(
                f"{variant:10s} {row['model']:16s} {row['impl']:34s} {row['images_per_s']:8.1f} images/s "
                f"{row['ratio']:.3f}x eager torchvision",
                flush=True,
            )
    name = "avx2-emulated" if args.avx2 else "native"
    out = Path(__file__).parent / "results" / f"onnxruntime-{name}.json"
    out.write_text(json.dumps({**record, "limited_to_avx2": args.avx2, "runs": runs}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
