# SPDX-License-Identifier: MIT
"""``convzoo summary MODEL``: the cost model's per-layer table (parameters, MACs, memory, receptive field)."""

from __future__ import annotations

import argparse

from ..analysis import profile
from ..errors import OptionError
from ..factory import create_model
from ..formats import FORMATS, console, emit
from ..registry import get_entry


def parse_size(text: str) -> tuple[int, int, int]:
    """``"3x224x224"`` -> ``(3, 224, 224)``; ``"224"`` -> ``(3, 224, 224)``."""
    try:
        parts = tuple(int(p) for p in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise OptionError(f"--input must look like 3x224x224 or 224, got {text!r}") from None
    if len(parts) == 1:
        parts = (3, parts[0], parts[0])
    if len(parts) != 3 or min(parts) < 1:
        raise OptionError(f"--input must be CxHxW with positive sizes, got {text!r}")
    return parts  # type: ignore[return-value]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("summary", help="per-layer parameters, MACs, memory and receptive field")
    parser.add_argument("model")
    parser.add_argument("--input", default=None, help="CxHxW, default: the model's default input size")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--depth", type=int, default=None, help="fold layers deeper than this (default: all layers)")
    parser.add_argument("--small-input", action="store_true", help="profile the small-input variant")
    parser.add_argument(
        "--features", action="store_true", help="the stages a backbone returns (create_model(..., features_only=True))"
    )
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.set_defaults(run=run)


def feature_rows(name: str, size: tuple[int, int, int], small_input: bool) -> list[dict]:
    """One row per stage of the ``features_only`` backbone: its module, channels, reduction, map and parameters."""
    import torch

    from ..models.features import FeatureNet

    with torch.device("meta"):  # shapes and counts only, no memory
        full = create_model(name, in_chans=size[0], small_input=small_input)
        stages = FeatureNet(full, input_size=size).feature_info.stages
        rows = []
        for index, stage in enumerate(stages):
            path = FeatureNet(full, [index], input_size=size)
            params = sum(p.numel() for p in path.parameters())
            rows.append(
                {
                    "index": index,
                    "module": stage.module,
                    "channels": stage.channels,
                    "reduction": stage.reduction,
                    "feature map": f"{stage.channels}×{stage.size[0]}×{stage.size[1]}",
                    "params up to here": f"{params:,}",
                }
            )
    return rows


def run(args: argparse.Namespace) -> int:
    entry = get_entry(args.model)
    size = parse_size(args.input) if args.input else entry.default_input_size
    if args.features:
        title = (
            f"{args.model} as a backbone: create_model({args.model!r}, features_only=True) "
            f"at {'×'.join(map(str, size))}"
        )
        emit(feature_rows(args.model, size, args.small_input), args.format, title=title)
        return 0
    if args.small_input:
        target = create_model(args.model, in_chans=size[0], small_input=True)
        if min(size[1:]) < (entry.small_min_input_size or 1):
            raise OptionError(f"{args.model} (small input) needs at least {entry.small_min_input_size} px")
    else:
        target = args.model
    result = profile(target, size, batch_size=args.batch)
    if args.small_input:
        result.model_name = f"{args.model} (small input)"
    rendered = result.render(args.format, args.depth)
    if isinstance(rendered, str):
        print(rendered)
    else:
        console().print(rendered)
    return 0
