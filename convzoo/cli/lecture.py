# SPDX-License-Identifier: MIT
"""``convzoo lecture``: the lecture's numbers recomputed from real modules, as Markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markdown import Markdown

from .. import files
from ..formats import console
from ..report.lecture_page import lecture_markdown


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("lecture", help="recompute the lecture's numbers from real modules")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown page here")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = lecture_markdown()
    if args.out:
        files.write_text(args.out, text)
    console().print(Markdown(text))
    if args.out:
        console().print(f"wrote {args.out}")
    return 0
