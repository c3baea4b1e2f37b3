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

from .. import compare
from ..budget import Budget
from ..compare.imagenet import DEFAULT_LIMIT
from ..formats import console, emit
from ..registry import get_entry
from ..report.columns import table_rows
from ..report.render import opening, write_report
from ..stopping import RaiseOnStop
from .outputs import writable_dir


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="measure the lecture's line-up side by side within a time budget; writes a report"
    )
    parser.add_argument("models", nargs="*", help=f"models to compare (default: the lecture's {len(compare.LINEUP)})")
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


def _config(args: argparse.Namespace) -> compare.CompareConfig:
    models = args.models or list(compare.LINEUP)
    for name in models:
        get_entry(name)  # unknown names fail before any work
    writable_dir(args.out)  # a file, a read-only mount: one line before any probing
    return compare.CompareConfig(
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
    return run_with_progress(
        _config(args), resume=args.resume, overwrite=args.overwrite and not args.resume, full_runs=args.full_runs
    )


class ProgressView:
    """:func:`convzoo.compare.run`'s events as a rich progress bar: the probe, the plan, each phase."""

    def __init__(self, progress: Progress) -> None:
        self.progress, self.task = progress, None

    def __call__(self, event: compare.Event) -> None:
        if event.kind == "probe":
            if self.task is None:
                self.task = self.progress.add_task("probing this machine", total=event.total)
            self.progress.update(self.task, completed=event.done + 1, description=f"probing {event.model}")
            return
        for line in event.lines:
            self.progress.console.print(line)
        if event.kind == "plan":
            if self.task is not None:
                self.progress.remove_task(self.task)
            self.task = self.progress.add_task("compare", total=event.total, completed=event.done)
        elif event.kind == "phase":
            self.progress.update(
                self.task,
                completed=event.done,
                description=f"{event.model} {event.phase}, ~{event.left_s / 60:.1f} min left",
            )


def run_with_progress(
    config: compare.CompareConfig,
    budget: Budget | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    full_runs: str | None = None,
) -> int:
    """The comparison with a progress bar, its report written, its table and opening printed; the exit code."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with RaiseOnStop(), Progress(*columns, console=console(), transient=True) as progress:
        results = compare.run(config, budget, ProgressView(progress), resume=resume, overwrite=overwrite)
    paths = write_report(results.record, results.out, full_runs)
    if results.stopped_by:
        console().print(
            f"{results.partial}; partial report: {paths['markdown']}; finish it with --resume --out {results.out}"
        )
        return results.exit_code
    record = results.record
    emit(table_rows(record, full_runs), "table", title=f"convzoo compare ({record['seconds'] / 60:.1f} min)")
    for line in opening(record):
        console().print(line)
    console().print(f"report: {paths['markdown']} and {paths['html']}")
    return 0
