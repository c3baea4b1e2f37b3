# SPDX-License-Identifier: MIT
"""Decide committed lab runs again with today's rules, from their stored measurements (nothing re-run).

    python scripts/rejudge_lab.py docs/experiments/bottleneck docs/experiments/bottleneck/budget-60

For a change of the verdict rules (``convzoo/experiments/verdicts.py``), not of what an experiment measures: a
change of the measurement means a new run. Each folder's ``results.json`` and ``report.md`` are rewritten by
:func:`convzoo.experiments.record.rejudge`, which records the commit whose rules decided beside the measuring one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from convzoo import experiments
from convzoo.experiments.record import rejudge


def main(folders: list[str]) -> int:
    for folder in map(Path, folders):
        stored = json.loads((folder / "results.json").read_text())
        module = experiments.experiment(stored["experiment"])
        judge = getattr(module, "JUDGES", {})[stored["scope"]] if stored.get("scope") else module.judge
        report = rejudge(folder, judge)
        record = json.loads((folder / "results.json").read_text())
        print(f"{report}: " + "; ".join(f"{p['name']}: {p['verdict']}" for p in record["parts"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
