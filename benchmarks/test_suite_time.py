# SPDX-License-Identifier: MIT
"""How long the README's test command takes from a fresh clone (README, generated block ``test-suite``).

    python benchmarks/test_suite_time.py            # this CPU's own kernels
    python benchmarks/test_suite_time.py --avx2     # PyTorch limited to AVX2 kernels (on a faster CPU: emulated)
    python benchmarks/test_suite_time.py --avx2 --slow-tier   # also time `make test-slow`, the tier CI adds
    python benchmarks/test_suite_time.py --slow-tier --mutation  # and the whole mutation check: all CI runs

Clones the committed HEAD into a temporary folder, runs ``make setup`` (not timed: the set-up installs
packages) and then ``make test`` (timed, the wall clock of the fast tier as a user and CI run it; with
``--slow-tier`` also ``make test-slow``; with ``--mutation`` also the whole mutation check, whose own per-fault
record is copied back to ``benchmarks/results/mutation_check.json``), and records the wall times, the pytest
summary lines, the slowest tests, the commit and the CPU kind in
``benchmarks/results/test_suite_time-{native,avx2-emulated}.json``. The clone runs with the environment of
this process, so ``--avx2`` limits every test's PyTorch (ONNX Runtime ignores those limits: said in the label).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from convzoo.provenance import add_machine_arguments, start_measuring
from convzoo.runtime import cpu_kind

ROOT = Path(__file__).resolve().parents[1]
MUTATION_RECORD = Path("benchmarks/results/mutation_check.json")
SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed).*?) in [\d.]+s", re.MULTILINE)
DURATION = re.compile(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)$", re.MULTILINE)
SLOWEST = 25  # pytest --durations: where the tier's time goes, for whoever keeps it under budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_machine_arguments(parser)
    parser.add_argument("--slow-tier", action="store_true", help="also time `make test-slow`")
    parser.add_argument("--mutation", action="store_true", help="also time scripts/mutation_check.py (whole list)")
    args = parser.parse_args()
    record = start_measuring(args)
    targets = {"test": ["make", "test"]}
    if args.slow_tier:
        targets["test-slow"] = ["make", "test-slow"]
    if args.mutation:  # after make setup, the clone's .venv has what the check needs
        targets["mutation"] = [".venv/bin/python", "scripts/mutation_check.py"]
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "convzoo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["make", "setup"], cwd=clone, check=True, capture_output=True)
        tiers = {target: _timed(command, clone) for target, command in targets.items()}
        if args.mutation and (clone / MUTATION_RECORD).exists():  # its per-fault record at this commit: keep it
            shutil.copy(clone / MUTATION_RECORD, ROOT / MUTATION_RECORD)
    record.update(
        {
            "command_measured": "make test",
            **tiers["test"],
            "tiers": tiers,
            "cpu": cpu_kind(),
            "cpu_count": os.cpu_count(),
        }
    )
    name = "test_suite_time-avx2-emulated.json" if args.avx2 else "test_suite_time-native.json"
    path = ROOT / "benchmarks" / "results" / name
    path.write_text(json.dumps(record, indent=2) + "\n")
    for target, tier in tiers.items():
        print(f"{target}: {tier['seconds'] / 60:.1f} min, exit {tier['exit_code']}, {tier['summary']}")
        if tier["exit_code"] != 0:
            print(tier.pop("output_tail"))
    print(f"-> {path}")


def _timed(command: list[str], cwd: Path) -> dict:
    """Wall clock, exit code and summary line (pytest's, or the command's last line) of one command."""
    start = time.perf_counter()
    environment = {**os.environ, "PYTEST_ADDOPTS": f"--durations={SLOWEST}"}
    finished = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env=environment)
    seconds = time.perf_counter() - start
    output = finished.stdout + finished.stderr
    summary = SUMMARY.findall(output)
    return {
        "seconds": round(seconds, 1),
        "exit_code": finished.returncode,
        "summary": summary[-1][0] if summary else (output.strip().splitlines() or [""])[-1],
        "slowest": [
            {"seconds": float(seconds), "phase": phase, "test": test}
            for seconds, phase, test in DURATION.findall(output)
        ],
        "output_tail": output[-5000:] if finished.returncode else "",
    }


if __name__ == "__main__":
    main()
