"""``convzoo compare [MODEL...]``: the lecture's overview, measured; writes report.md and report.html."""

from __future__ import annotations

import argparse

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..registry import get_entry
from ..report.compare import LINEUP, CompareConfig, compare
from ..report.render import table_rows, write_report
from ..tables import console, emit
from ..errors import OptionError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("compare", help="measure the lecture's line-up side by side; writes a report")
    parser.add_argument("models", nargs="*", help=f"models to compare (default: {len(LINEUP)} from the lecture)")
    parser.add_argument("--data", default="fashion-mnist-mini")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=None, help="training epochs per model (default 1; 5 with --full)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats per speed measurement")
    parser.add_argument("--out", default="reports/compare")
    parser.add_argument("--full", action="store_true", help="full Fashion-MNIST and a longer schedule")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    models = args.models or list(LINEUP)
    for name in models:
        get_entry(name)  # unknown names fail before any work
    data = "fashion-mnist" if args.full and args.data == "fashion-mnist-mini" else args.data
    epochs = args.epochs or (5 if args.full else 1)
    if epochs < 1:
        raise OptionError(f"--epochs must be at least 1, got {epochs}")
    config = CompareConfig(models=models, data=data, data_dir=args.data_dir, epochs=epochs, batch_size=args.batch_size, out=args.out, repeats=args.repeats)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console(), transient=True) as progress:
        task = progress.add_task("compare", total=len(models))

        def on_model(name: str, row: dict | None) -> None:
            if row is None:
                progress.update(task, description=f"measuring {name}")
                return
            progress.advance(task)
            status = f"error: {row['error']}" if "error" in row else f"top-1 {row['test_top1']:.1%}, {row['gmacs']} GMACs"
            progress.console.print(f"{name}: {status}")

        results = compare(config, on_model)
    paths = write_report(results, args.out)
    emit(table_rows(results), "table", title=f"convzoo compare ({results['seconds'] / 60:.1f} min)")
    console().print(f"report: {paths['markdown']} and {paths['html']}")
    return 0
