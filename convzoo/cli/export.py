"""``convzoo export --checkpoint FILE --format onnx|torchscript|torch-export --out FILE``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

import torch

from .. import checkpoint as ckpt
from ..deploy.export import FORMATS, export, onnx_agrees, write_metadata
from ..errors import ExportError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("export", help="export a checkpoint for deployment (ONNX verified in onnxruntime)")
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("--format", choices=FORMATS, default="onnx")
    parser.add_argument("--out", required=True, type=Path)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    checkpoint = ckpt.load(args.checkpoint)
    spec = checkpoint.model
    model = checkpoint.build_model().eval()
    size = spec.input_size()
    example = torch.randn(2, spec.in_chans, size, size)
    path = export(model, example, args.format, args.out)
    write_metadata(path, asdict(spec) | {"input_size": [spec.in_chans, size, size]})
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB) and {path}.json")
    if args.format == "onnx":
        ok, difference, scale = onnx_agrees(path, model, torch.randn(3, *example.shape[1:]))
        print(f"onnxruntime vs PyTorch on a batch of 3: max abs difference {difference:.2e} (max |logit| {scale:.2g})")
        if not ok:
            raise ExportError(f"ONNX export differs from PyTorch by {difference:.2e} (> 1e-4 x max(1, {scale:.2g}))")
    return 0
