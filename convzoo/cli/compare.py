# SPDX-License-Identifier: MIT
"""``convzoo compare [MODEL...] --budget MINUTES``: the lecture's overview, measured within a time budget.

Prints the plan before any work, shows the model, phase and estimated time left while it runs, and writes
report.md, report.html and results.json; it ends with the report's first lines, the accuracy–latency frontier
on this machine (published top-1, measured latency). ``--imagenet PATH`` adds ImageNet-1k top-1 measured here
on a local validation set, beside the published figure. Ctrl-C or SIGTERM write a partial report; ``--resume``
finishes it.
"""

from __future__ import annotations

import argparse

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..registry import get_entry
from ..report.compare import LINEUP, CompareConfig, Comparison, remove_comparison
from ..report.imagenet_column import DEFAULT_LIMIT
from ..report.render import opening, write_report
from ..report.table import table_rows
from ..stopping import RaiseOnStop, StopSignal
from ..tables import console, emit
from .outputs import writable_dir


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="measure the lecture's line-up side by side within a time budget; writes a report"
    )
    parser.add_argument("models", nargs="*", help=f"models to compare (default: the lecture's {len(LINEUP)})")
    parser.add_argument(
        "--budget", type=float, default=8.0, help="minutes for the whole run, planned on this machine (default 8)"
    )
    parser.add_argument(
        "--data", default="fashion-mnist-mini", help="dataset of the learns-check (default: the embedded sample)"
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--full-runs",
        default=None,
        help="results file of full training runs (default: benchmarks/results/fashion_mnist_full.json)",
    )
    parser.add_argument(
        "--imagenet",
        default=None,
        metavar="PATH",
        help="a local ImageNet-1k validation set (val/<wnid>/*.JPEG, or flat with a labels file): also measure "
        "each model's released weights on it, beside the published top-1",
    )
    parser.add_argument("--imagenet-labels", default=None, help="labels file of a flat --imagenet layout")
    parser.add_argument(
        "--imagenet-limit",
        type=int,
        default=DEFAULT_LIMIT,
        help=f"images per model, class-balanced (default {DEFAULT_LIMIT}; 0: all)",
    )
    parser.add_argument(
        "--no-learns-check",
        dest="learns_check",
        action="store_false",
        help="cost and speed only: leave out the short training run of each model",
    )
    parser.add_argument("--out", default="reports/compare")
    parser.add_argument(
        "--resume", action="store_true", help="finish an interrupted comparison in --out, with its plan"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier comparison in --out")
    parser.set_defaults(run=run)


def _config(args: argparse.Namespace) -> CompareConfig:
    models = args.models or list(LINEUP)
    for name in models:
        get_entry(name)  # unknown names fail before any work
    writable_dir(args.out)  # a file, a read-only mount: one line before any probing
    return CompareConfig(
        models=models,
        budget_minutes=args.budget,
        data=args.data,
        data_dir=args.data_dir,
        batch_size=args.batch_size,
        out=args.out,
        imagenet=args.imagenet,
        imagenet_labels=args.imagenet_labels,
        imagenet_limit=args.imagenet_limit or None,
        learns_check=args.learns_check,
    )


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.overwrite and not args.resume:
        remove_comparison(config.out)
    comparison = Comparison(config, resume=args.resume)
    models = comparison.config.models
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with RaiseOnStop(), Progress(*columns, console=console(), transient=True) as progress:
        try:
            probe = progress.add_task("probing this machine", total=len(models))
            plan = comparison.plan(lambda name: progress.update(probe, description=f"probing {name}", advance=1))
            progress.remove_task(probe)
            for line in plan.describe():
                progress.console.print(line)
            task = progress.add_task("compare", total=len(models) * len(comparison.phases))
            progress.update(task, completed=sum(len(v) for v in comparison.state["done"].values()))

            def on_phase(name: str, phase: str, left_s: float) -> None:
                done = sum(len(v) for v in comparison.state["done"].values())
                index = models.index(name) + 1
                progress.update(
                    task,
                    completed=done,
                    description=f"{name} ({index}/{len(models)}) {phase}, ~{left_s / 60:.1f} min left",
                )

            def on_replan(plan) -> None:
                trained = [m.name for m in plan.models if m.train_steps]
                progress.console.print(
                    f"training re-planned for the time left: {plan.steps} steps for {len(trained)} of {len(models)} "
                    "models"
                )

            comparison.run(plan, on_phase, on_replan)
        except StopSignal as stop:
            progress.stop()
            partial = f"stopped by {stop.name} after {comparison.spent_s / 60:.1f} min"
            paths = write_report(comparison.results(partial=partial), comparison.out, args.full_runs)
            console().print(
                f"{partial}; partial report: {paths['markdown']}; finish it with --resume --out {comparison.out}"
            )
            return stop.exit_code
    results = comparison.results()
    paths = write_report(results, comparison.out, args.full_runs)
    emit(table_rows(results, args.full_runs), "table", title=f"convzoo compare ({results['seconds'] / 60:.1f} min)")
    for line in opening(results):
        console().print(line)
    console().print(f"report: {paths['markdown']} and {paths['html']}")
    return 0
