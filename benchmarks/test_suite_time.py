"""How long the README's test command takes from a fresh clone (README, generated block ``test-suite``).

    python benchmarks/test_suite_time.py            # this CPU's own kernels
    python benchmarks/test_suite_time.py --avx2     # PyTorch limited to AVX2 kernels (on a faster CPU: emulated)

Clones the committed HEAD into a temporary folder, runs ``make setup`` (not timed: the set-up installs
packages) and then ``make test`` (timed, the wall clock of the whole suite as CI runs it), and records the
wall time, the pytest summary line, the commit and the CPU kind in
``benchmarks/results/test_suite_time-{native,avx2-emulated}.json``. The clone runs with the environment of
this process, so ``--avx2`` limits every test's PyTorch (ONNX Runtime ignores those limits: said in the label).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from convzoo.provenance import add_machine_arguments, start_measuring
from convzoo.runtime import cpu_kind

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed).*?) in [\d.]+s", re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_machine_arguments(parser)
    args = parser.parse_args()
    record = start_measuring(args)
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "convzoo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["make", "setup"], cwd=clone, check=True, capture_output=True)
        start = time.perf_counter()
        finished = subprocess.run(["make", "test"], cwd=clone, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    output = finished.stdout + finished.stderr
    summary = SUMMARY.findall(output)
    record.update({
        "command_measured": "make test",
        "seconds": round(seconds, 1),
        "exit_code": finished.returncode,
        "summary": summary[-1][0] if summary else output.strip().splitlines()[-1:],
        "cpu": cpu_kind(),
        "cpu_count": os.cpu_count(),
    })  # fmt: skip
    name = "test_suite_time-avx2-emulated.json" if args.avx2 else "test_suite_time-native.json"
    path = ROOT / "benchmarks" / "results" / name
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"make test: {seconds / 60:.1f} min, exit {finished.returncode}, {record['summary']} -> {path}")
    if finished.returncode != 0:
        print(output[-5000:])


if __name__ == "__main__":
    main()
