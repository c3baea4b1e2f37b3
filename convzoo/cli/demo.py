# SPDX-License-Identifier: MIT
"""``convzoo demo [--budget 10] [--out reports/demo]``: the main job, in one time budget for the whole of it.

The lecture's line-up measured side by side (``convzoo compare``), then the lab's two ResNet experiments
(``gradients`` and ``degradation``), within one clock: compare gets ``COMPARE_SHARE`` of the budget and plans
itself on this machine; whatever it leaves, it leaves to the lab, which splits the time left (less a
``RESERVE`` for the parts' overruns) by ``LAB_SHARES``. The time left is read from one
:class:`~convzoo.budget.Budget` for the whole demo. So the whole demo ends within its budget on a fast or a
slow CPU, and the time is decided once, here, rather than added up phase by phase. ``demo.json`` records what
each part took, the CPU kind and the commit (the README's first lines are rendered from the committed one).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .. import experiments, files
from ..budget import Budget
from ..errors import OptionError
from ..experiments.verdicts import UNDECIDED
from ..provenance import provenance
from ..runtime import cpu_kind
from ..tables import console, to_json
from .outputs import writable_dir

COMPARE_SHARE = 0.6  # of the whole budget; the lab gets the rest (and what compare did not use)
LAB_SHARES = {"gradients": 0.4, "degradation": 0.6}  # of the time left for the lab
MIN_MINUTES = 1.0  # the shortest demo: compare's probe of the 13 models takes tens of seconds on the slowest CPU
MIN_LAB_MINUTES = 0.5  # below this an experiment is skipped: it could not train at all
# kept back from the lab for the parts' own overruns (each plans from timed estimates; measured: the last experiment
# ran 15 s over its share in an AVX2 run of the 10-minute demo, docs/compare/demo.json)
RESERVE = 0.05


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="the main job: compare the lecture's line-up, then the lab's ResNet experiments, in one budget"
    )
    parser.add_argument("--budget", type=float, default=10.0, help="minutes for the whole demo (default 10)")
    parser.add_argument("--out", type=Path, default=Path("reports/demo"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.budget < MIN_MINUTES:
        raise OptionError(
            f"--budget {args.budget:g} cannot be met: the demo needs at least {MIN_MINUTES:g} minute (compare alone "
            "probes each of the lecture's 13 models on this machine first)"
        )
    writable_dir(args.out)  # a file or a read-only folder as --out: one line now, not after compare's minutes
    budget = Budget.minutes(args.budget, reserve_s=RESERVE * args.budget * 60)  # the whole demo's one clock
    parts = []
    code = _compare(args.budget * COMPARE_SHARE, args.out)
    parts.append({"part": "compare", "budget_minutes": round(args.budget * COMPARE_SHARE, 2), **_since(budget.started)})
    if code != 0:  # stopped by a signal, or an error already printed: the lab would only lose more time
        return code
    for name, share in LAB_SHARES.items():
        left = budget.for_planning() / 60  # minutes the remaining experiments share
        minutes = left * share / sum(s for n, s in LAB_SHARES.items() if n not in {p["part"] for p in parts})
        if minutes < MIN_LAB_MINUTES:
            console().print(f"lab {name}: skipped, {minutes:.1f} min left of the demo's {args.budget:g}")
            parts.append({"part": name, "budget_minutes": round(minutes, 2), "skipped": True})
            continue
        began = time.perf_counter()
        report = experiments.run(name, out=args.out / "lab" / name, budget_minutes=minutes)
        for line in lab_summary(
            name, json.loads(files.read_input(report.parent / "results.json", limit=files.READ_LIMIT)), report
        ):
            console().print(line)
        parts.append({"part": name, "budget_minutes": round(minutes, 2), **_since(began)})
    record = {
        "budget_minutes": args.budget, "seconds": round(budget.elapsed(), 1), "parts": parts,
        "cpu": cpu_kind(), "provenance": provenance(allow_dirty=True),
    }  # fmt: skip
    files.write_text(args.out / "demo.json", to_json(record, indent=2) + "\n")
    console().print(f"demo: {record['seconds'] / 60:.1f} min of {args.budget:g} (reports in {args.out})")
    return 0


def lab_summary(name: str, record: dict, report: Path) -> list[str]:
    """The experiment's parts grouped by verdict, read from its results (not its Markdown); the parts this budget
    left undecided point to the committed runs, which had the experiment's full budget."""
    by_verdict: dict[str, list[str]] = {}
    for part in record.get("parts", []):
        by_verdict.setdefault(part["verdict"], []).append(part["name"])
    lines = [f"lab {name}: " + "; ".join(f"{verdict}: {', '.join(names)}" for verdict, names in by_verdict.items())]
    if UNDECIDED in by_verdict:
        lines.append(f"  what this budget left undecided: see the committed run, docs/experiments/{name}/report.md")
    lines.append(f"  report: {report}")
    return lines


def _since(start: float) -> dict[str, float]:
    return {"seconds": round(time.perf_counter() - start, 1)}


def _compare(budget_minutes: float, out: Path) -> int:
    from . import build_parser  # the compare command itself, with its progress, plan and report

    args = build_parser().parse_args(["compare", "--budget", f"{budget_minutes:.2f}", "--overwrite", "--out", str(out)])
    return int(args.run(args) or 0)
