# SPDX-License-Identifier: MIT
"""``convzoo experiment NAME [--quick] [--budget MINUTES] [--out DIR] [--device D] [--amp A]``: the lecture's lab
(``--list`` shows it)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import experiments, files
from ..errors import OptionError
from ..experiments.verdicts import headline
from ..formats import emit
from .outputs import writable_dir


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("experiment", help="the lecture's claims, reproduced by training (--list)")
    parser.add_argument("name", nargs="?", help=f"one of: {', '.join(experiments.NAMES)}")
    parser.add_argument("--list", action="store_true", help="list the experiments, one line each")
    parser.add_argument("--quick", action="store_true", help="a run of under a minute: the structure, not a verdict")
    parser.add_argument("--budget", type=float, help="minutes to spend (default: the experiment's own)")
    parser.add_argument("--out", type=Path, help="output folder (default: experiments/NAME)")
    parser.add_argument(
        "--scope", help="run one part of the experiment: bottleneck's 'cost' (the cost model and timed steps, seconds)"
    )
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto: a CUDA GPU when there is one"
    )
    parser.add_argument(
        "--amp",
        default="auto",
        choices=("auto", "none", "bf16"),
        help="auto: bf16 autocast where the hardware has it natively and a timed step shows it faster; none: fp32",
    )
    parser.set_defaults(run=run)


def verdict_lines(record: dict) -> list[str]:
    """The claim's verdict and, when the record has them, one line per part: read from the data, not the Markdown."""
    lines = [
        f"{record['experiment']}: {'' if record.get('parts') else 'the claim '}{headline(record)}"
        + (" (quick mode: decides nothing)" if record["quick"] else "")
    ]
    for part in record.get("parts", []):
        lines.append(f"  {part['verdict']:<13} {part['name']}: {part['evidence']}")
    if "parts" not in record:
        lines.append(f"  {record['verdict']}")
    return lines


def run(args: argparse.Namespace) -> int:
    if args.list:
        rows = [
            {
                "experiment": name,
                "default budget (min)": experiments.experiment(name).DEFAULT_BUDGET_MINUTES,
                "what it shows": experiments.experiment(name).DESCRIPTION,
            }
            for name in experiments.NAMES
        ]
        emit(rows, "table", title="convzoo experiment NAME")
        return 0
    if args.name is None:
        raise OptionError("name an experiment (`convzoo experiment --list` shows them)")
    experiments.runner(args.name, args.scope)  # an unknown name or scope fails before anything else
    out = writable_dir(args.out or Path("experiments") / args.name)
    report = experiments.run(
        args.name,
        out=out,
        budget_minutes=args.budget,
        quick=args.quick,
        device=args.device,
        amp=args.amp,
        scope=args.scope,
    )
    record = json.loads(files.read_input(report.parent / "results.json", limit=files.READ_LIMIT))
    print("\n".join(verdict_lines(record)))
    print(f"report: {report}")
    return 0
