"""``convzoo models [PATTERN]``: the registered models with family, year, parameters and input size."""

from __future__ import annotations

import argparse

from ..analysis import profile
from ..errors import OptionError
from ..registry import list_models, model_info
from ..tables import FORMATS, emit


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list the registered models")
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'resnet*'")
    parser.add_argument("--gmacs", action="store_true", help="also profile each model at its default input size")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.set_defaults(run=run)


def model_rows(pattern: str = "*", *, gmacs: bool = False) -> list[dict]:
    rows = []
    for name in list_models(pattern):
        info = model_info(name)
        row = {
            "model": name,
            "family": info["family"],
            "year": info["year"],
            "params": f"{info['param_count']:,}",
            "input": "x".join(str(d) for d in info["default_input_size"]),
        }
        if gmacs:
            row["GMACs"] = f"{profile(name, info['default_input_size']).total_macs / 1e9:.3f}"
        row["reference"] = ", ".join(f"{lib}:{ref}" for lib, ref in info["reference"].items()) or "-"
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> int:
    rows = model_rows(args.pattern, gmacs=args.gmacs)
    if not rows:
        raise OptionError(f"no model matches {args.pattern!r}")
    emit(rows, args.format, title=f"convzoo models ({len(rows)})")
    return 0
