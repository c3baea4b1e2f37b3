# SPDX-License-Identifier: MIT
"""``convzoo models [PATTERN]``: the registered models with family, year, parameters and input size.

``--pretrained``: the released weights instead, one row per (model, source).
"""

from __future__ import annotations

import argparse

from ..analysis import profile
from ..errors import OptionError
from ..factory import create_model
from ..formats import FORMATS, emit
from ..registry import list_models, model_facts
from ..weights.catalog import all_weights


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list the registered models")
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'resnet*'")
    parser.add_argument("--gmacs", action="store_true", help="also profile each model at its default input size")
    parser.add_argument("--pretrained", action="store_true", help="list the released weights: source, top-1, size")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.set_defaults(run=run)


def shape_only_macs(name: str, input_size: tuple[int, int, int]) -> int:
    """The cost model's MAC count, built and run on the meta device: the same count from shapes alone, in a
    fraction of the time (no weight initialization, no arithmetic)."""
    import torch

    with torch.device("meta"):
        model = create_model(name, in_chans=input_size[0])
    return profile(model, input_size, device="meta").total_macs


def model_rows(pattern: str = "*", *, gmacs: bool = False) -> list[dict]:
    rows = []
    for name in list_models(pattern):
        info = model_facts(name)
        row = {
            "model": name,
            "family": info["family"],
            "year": info["year"],
            "params": f"{info['param_count']:,}",
            "input": "x".join(str(d) for d in info["default_input_size"]),
        }
        if gmacs:
            row["GMACs"] = f"{shape_only_macs(name, info['default_input_size']) / 1e9:.3f}"
        row["reference"] = ", ".join(f"{lib}:{ref}" for lib, ref in info["reference"].items()) or "-"
        rows.append(row)
    return rows


def weights_rows(pattern: str = "*") -> list[dict]:
    names = set(list_models(pattern))
    return [
        {
            "model": w.model,
            "source": w.source,
            "weights": w.tag,
            "top-1": "-" if w.top1 is None else f"{w.top1:.2f}",
            "input": w.transform.crop,
            "MB": f"{w.size_mb:.1f}",
            "license": w.license,
        }
        for w in all_weights()
        if w.model in names
    ]


def run(args: argparse.Namespace) -> int:
    rows = weights_rows(args.pattern) if args.pretrained else model_rows(args.pattern, gmacs=args.gmacs)
    if not rows:
        raise OptionError(f"no model {'with released weights ' if args.pretrained else ''}matches {args.pattern!r}")
    title = "released weights" if args.pretrained else "convzoo models"
    emit(rows, args.format, title=f"{title} ({len(rows)})")
    return 0
