"""``convzoo predict --checkpoint FILE IMAGE...``: top-k classes with probabilities."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import checkpoint as ckpt
from ..deploy.predict import Predictor
from ..tables import emit


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="classify image files with a trained checkpoint")
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    predictions = Predictor(ckpt.load(args.checkpoint)).predict(args.images, k=args.top)
    for skipped in (p for p in predictions if p.error):
        print(f"convzoo: skipped {skipped.error}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps([{"path": p.path, "top": p.top, "error": p.error} for p in predictions], indent=2))
    else:
        rows = [
            {"image": p.path, **{f"#{i + 1}": f"{name} {prob:.1%}" for i, (name, prob) in enumerate(p.top)}}
            for p in predictions if p.top is not None
        ]  # fmt: skip
        if rows:
            emit(rows, "table", title="predictions")
    return 0 if any(p.top is not None for p in predictions) else 2
