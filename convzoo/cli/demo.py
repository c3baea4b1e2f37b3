# SPDX-License-Identifier: MIT
"""``convzoo demo [--budget 10] [--out reports/demo]``: the lecture, executable, in one time budget.

The main job. It runs what decides the lecture's claims on this machine and writes one page in the lecture's
order (``index.html`` and ``index.md``, :mod:`convzoo.report.demo_page`): convolution as a learnable filter → VGG
and GoogLeNet (the 1×1 bottleneck's cost and step time, global average pooling's parameters) → ResNet (vanishing
gradients and their remedies, degradation, ~1000 layers) → EfficientNet (compound scaling) → the architectures
measured on this machine.

Where the ten minutes go, decided once, here, from one :class:`~convzoo.budget.Budget` for the whole demo:

- the cheap parts always run, first: the ``filters`` experiment (with ``CHEAP_SHARE`` of the budget) and the
  bottleneck's ``cost`` scope (the cost model and a few timed steps: no training, no budget);
- ``convzoo compare`` gets ``COMPARE_SHARE`` and plans itself on this machine: cost and speed of the 13 models, the
  frontier; its learns-check is left to ``convzoo compare`` (a few dozen steps decide nothing about the lecture);
- the lab's ``gradients`` and ``degradation``, the central claims, share what is left (less a ``RESERVE`` for the
  parts' overruns) by ``LAB_SHARES``.

``demo.json`` records what each part took and what it decided, the CPU kind and the commit (the README's first lines
are rendered from the committed one, ``docs/demo/``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .. import compare, experiments, files
from ..budget import Budget
from ..errors import OptionError
from ..experiments.verdicts import headline, tally
from ..formats import console, to_json
from ..provenance import provenance
from ..report.demo_page import write_demo_page
from ..runtime import cpu_kind
from .compare import run_with_progress
from .outputs import writable_dir

CHEAP_SHARE = 0.05  # of the whole budget, for the filters experiment (it plans its steps within it)
COMPARE_SHARE = 0.3  # of the whole budget: cost, speed and the frontier of the 13 models, no training
LAB_SHARES = {"gradients": 0.4, "degradation": 0.6}  # of the time left for the lab
MIN_MINUTES = 1.0  # the shortest demo: compare's probe of the 13 models takes tens of seconds on the slowest CPU
MIN_LAB_MINUTES = 0.5  # below this an experiment is skipped: it could not train at all
# kept back from the lab for the parts' own overruns (each plans from timed estimates; measured: the last experiment
# ran 15 s over its share in an AVX2 run of the 10-minute demo at be23675)
RESERVE = 0.05
PAGE_SECONDS = 20.0  # the page: the lecture's cost-model numbers (VGG-16, GoogLeNet, ResNet, EfficientNet φ ≤ 2)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="the main job: the lecture's claims decided on this machine, and its 13 CNNs, in one budget"
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
    writable_dir(args.out)  # a file or a read-only folder as --out: one line now, not after minutes of work
    budget = Budget.minutes(args.budget, reserve_s=RESERVE * args.budget * 60 + PAGE_SECONDS)  # the demo's one clock
    parts: list[dict] = []
    lab = args.out / "lab"
    _experiment(parts, "filters", lab, minutes=CHEAP_SHARE * args.budget)
    _experiment(parts, "bottleneck", lab, scope="cost")
    began = time.perf_counter()
    code = _compare(COMPARE_SHARE * args.budget, args.out)
    parts.append({"part": "compare", "budget_minutes": round(COMPARE_SHARE * args.budget, 2), **_since(began)})
    if code != 0:  # stopped by a signal, or an error already printed: the lab would only lose more time
        return code
    for name, share in LAB_SHARES.items():
        left = budget.for_planning() / 60  # minutes the remaining experiments share
        minutes = left * share / sum(s for n, s in LAB_SHARES.items() if n not in {p["part"] for p in parts})
        if minutes < MIN_LAB_MINUTES:
            console().print(f"lab {name}: skipped, {minutes:.1f} min left of the demo's {args.budget:g}")
            parts.append({"part": name, "budget_minutes": round(minutes, 2), "skipped": True})
            continue
        _experiment(parts, name, lab, minutes=minutes)
    record = {
        "budget_minutes": args.budget, "seconds": round(budget.elapsed(), 1), "parts": parts,
        "cpu": cpu_kind(), "provenance": provenance(allow_dirty=True),
    }  # fmt: skip
    files.write_text(args.out / "demo.json", to_json(record, indent=2) + "\n")
    page = write_demo_page(args.out, record)
    record["seconds"] = round(budget.elapsed(), 1)  # the page included
    files.write_text(args.out / "demo.json", to_json(record, indent=2) + "\n")
    console().print(f"demo: {record['seconds'] / 60:.1f} min of {args.budget:g}; the lecture, executable: {page}")
    return 0


def _experiment(parts: list[dict], name: str, lab: Path, *, minutes: float | None = None, scope: str | None = None):
    began = time.perf_counter()
    report = experiments.run(name, out=lab / name, budget_minutes=minutes, scope=scope)
    record = json.loads(files.read_input(report.parent / "results.json", limit=files.READ_LIMIT))
    for line in lab_summary(name, record, report):
        console().print(line)
    parts.append(
        {"part": name, **({"scope": scope} if scope else {}), "budget_minutes": round(minutes, 2) if minutes else None}
        | _since(began)
        | {"headline": headline(record), **({"tally": tally(record["parts"])} if record.get("parts") else {})}
    )


def lab_summary(name: str, record: dict, report: Path) -> list[str]:
    """One experiment's outcome, read from its results (not its Markdown): the parts' tally, each verdict's parts."""
    by_verdict: dict[str, list[str]] = {}
    for part in record.get("parts", []):
        by_verdict.setdefault(part["verdict"], []).append(part["name"])
    lines = [f"lab {name}: {headline(record)}"]
    lines += [f"  {verdict}: {', '.join(names)}" for verdict, names in by_verdict.items()]
    lines.append(f"  report: {report}")
    return lines


def _since(start: float) -> dict[str, float]:
    return {"seconds": round(time.perf_counter() - start, 1)}


def _compare(budget_minutes: float, out: Path) -> int:
    """The comparison of the line-up without its learns-check, on its share of the demo's clock from now."""
    config = compare.CompareConfig(learns_check=False, out=str(out))
    return run_with_progress(config, compare.compare_budget(budget_minutes * 60), overwrite=True)
