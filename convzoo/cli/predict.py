# SPDX-License-Identifier: MIT
"""``convzoo predict``: top-k classes with probabilities, from a trained checkpoint or released weights.

``--checkpoint FILE IMAGE...`` prepares images as the checkpoint's training data
was; ``--model NAME --pretrained [--source timm] IMAGE...`` uses released ImageNet
weights with their own evaluation transform and prints ImageNet class names.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import checkpoint as ckpt
from ..deploy.predict import Predictor
from ..errors import OptionError
from ..factory import create_model
from ..formats import emit, to_json
from ..weights.catalog import SOURCES


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="classify image files with a trained checkpoint or released weights")
    parser.add_argument("--checkpoint", type=Path, help="a convzoo checkpoint (from convzoo train)")
    parser.add_argument("--model", help="with --pretrained: a registered model with released weights")
    parser.add_argument(
        "--pretrained", action="store_true", help="use the model's released ImageNet weights (downloaded once, cached)"
    )
    parser.add_argument("--source", choices=SOURCES, help="with --pretrained: whose weights (default: torchvision's)")
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def predictor(args: argparse.Namespace) -> Predictor:
    if (args.checkpoint is None) == (not args.pretrained):
        raise OptionError("give either --checkpoint FILE, or --model NAME --pretrained")
    if args.checkpoint is not None:
        return Predictor.from_checkpoint(ckpt.load(args.checkpoint))
    if args.model is None:
        raise OptionError("--pretrained needs --model NAME (`convzoo models --pretrained` lists them)")
    return Predictor.from_pretrained(create_model(args.model, pretrained=args.source or True))


def run(args: argparse.Namespace) -> int:
    predictions = predictor(args).predict(args.images, k=args.top)
    for skipped in (p for p in predictions if p.error):
        print(f"convzoo: skipped {skipped.error}", file=sys.stderr)
    if args.format == "json":
        print(to_json([{"path": p.path, "top": p.top, "error": p.error} for p in predictions], indent=2))
    else:
        rows = [
            {"image": p.path, **{f"#{i + 1}": f"{name} {prob:.1%}" for i, (name, prob) in enumerate(p.top)}}
            for p in predictions
            if p.top is not None
        ]
        if rows:
            emit(rows, "table", title="predictions")
    return 0 if any(p.top is not None for p in predictions) else 2
