# SPDX-License-Identifier: MIT
"""The README's sentence on how long the test suite takes, from ``benchmarks/test_suite_time.py``'s records."""

from __future__ import annotations

from pathlib import Path

from .records import RESULTS, commit_label, cpu_label, per_cpu_kind

LABELS = {"mutation": "the mutation check (`scripts/mutation_check.py`, every fault)"}


def readme_test_suite(root: Path) -> str:
    """`make test` (and `make test-slow` where timed) from a fresh clone, per CPU kind, as recorded (README)."""
    runs = []
    for meaning, record in per_cpu_kind(root, "test_suite_time"):
        if record is None:
            continue
        tiers = record.get("tiers") or {"test": record}
        timed = "; ".join(
            f"{LABELS.get(target, f'`make {target}`')} {tier['seconds'] / 60:.1f} min "
            f"({tier['summary']}, exit {tier['exit_code']})"
            for target, tier in tiers.items()
        )
        runs.append(
            f"{timed} on {cpu_label(record)}, {meaning}, {record.get('cpu_count', '?')} cores, commit "
            f"{commit_label(record)}"
        )
    if not runs:
        return f"Test-suite time: not measured yet (`python benchmarks/test_suite_time.py`, {RESULTS})."
    return "Measured from a fresh clone, set-up excluded (`benchmarks/test_suite_time.py`): " + "; ".join(runs) + "."
