# SPDX-License-Identifier: MIT
"""The lecture's line-up on the CPU inference paths a user could ship, side by side in one process per model.

    python benchmarks/cpu_peers.py                 # all 13 models, batch 1 and 16, this CPU's own kernels
    python benchmarks/cpu_peers.py --avx2          # PyTorch limited to AVX2 (the peers ignore that limit)
    python benchmarks/cpu_peers.py resnet50 mobilenet_v3_large --repeats 9

For each model, one ``convzoo bench MODEL --batch 1,16 --optimize --compile --against REF,onnxruntime,openvino``
times, interleaved: eager fp32 of the reference library (torchvision where it has the model, else timm: what a
PyTorch user gets without trying), convzoo's deployment path in fp32 (batch norms folded, channels-last,
``torch.compile`` with freezing), and our model's ONNX export in ONNX Runtime and in OpenVINO, fp32. Where the
CPU runs bf16 natively (AVX-512 BF16 or AMX), a second call times convzoo's bf16 path against OpenVINO's bf16.
Every path's outputs are checked against eager fp32 PyTorch before it is timed and the row records the
difference (``max_relative_difference``: max |difference| / max |output| on the timed input); the reference
library's agreement with ours is the equivalence tests'. Ratios are speed over the eager reference's in the
same process. Writes ``benchmarks/results/cpu_peers-{native,avx2-emulated}.json``.

int8 is not here: OpenVINO's int8 needs its own calibration (NNCF), and an int8 comparison means something
only with top-1 agreement on real images (``benchmarks/int8_speed.py`` does that for PyTorch and ONNX Runtime).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from convzoo.provenance import add_machine_arguments, start_measuring
from convzoo.registry import LECTURE_LINEUP, get_entry
from convzoo.runtime import cpu_supports_bf16

RESULTS = Path(__file__).parent / "results"


def bench_rows(model: str, batches: str, dtype: str, against: str, repeats: int) -> tuple[list[str], list[dict]]:
    """The bench command for one model and what it printed (a JSON list of rows)."""
    command = ["convzoo", "bench", model, "--batch", batches, "--optimize", "--compile", "--dtype", dtype]
    command += ["--against", against, "--repeats", str(repeats), "--no-memory", "--format", "json"]
    completed = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SystemExit(f"{model} {dtype}: {last}")
    return command, json.loads(completed.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=list(LECTURE_LINEUP))
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--repeats", type=int, default=5)
    add_machine_arguments(parser)
    args = parser.parse_args()
    record = start_measuring(args)  # reruns this script limited to AVX2 under --avx2: the bench calls inherit it
    dtypes = ["fp32", "bf16"] if cpu_supports_bf16() else ["fp32"]
    runs = []
    for model in args.models:
        reference = "torchvision" if "torchvision" in get_entry(model).reference else "timm"
        for dtype in dtypes:
            against = f"{reference},onnxruntime,openvino" if dtype == "fp32" else f"{reference},openvino"
            start = time.perf_counter()
            command, rows = bench_rows(model, args.batches, dtype, against, args.repeats)
            runs.append(
                {"model": model, "dtype": dtype, "bench_command": " ".join(command), "rows": rows,
                 "seconds": round(time.perf_counter() - start, 1)}
            )  # fmt: skip
            for row in rows:
                print(
                    f"{model:20s} {dtype} batch {row['batch']:2d} {row['impl']:32s} {row['latency_ms']:9.2f} ms "
                    f"{row['ratio']:6.3f}x eager {reference}  agreement {row['max_relative_difference']}",
                    flush=True,
                )
    name = "avx2-emulated" if args.avx2 else "native"
    out = RESULTS / f"cpu_peers-{name}.json"
    out.write_text(json.dumps({**record, "dtypes": dtypes, "runs": runs}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
