# SPDX-License-Identifier: MIT
"""``convzoo export --checkpoint FILE --format onnx|torchscript|torch-export --out FILE [--int8 --calibrate DATA]``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

import torch

from .. import checkpoint as ckpt
from ..deploy.export import FORMATS, export, onnx_agrees, write_metadata
from ..errors import ExportError, OptionError
from .outputs import writable_file


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("export", help="export a checkpoint for deployment (ONNX verified in onnxruntime)")
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("--format", choices=FORMATS, default="onnx")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument(
        "--int8", action="store_true", help="ONNX only: also write OUT.int8.onnx, statically quantized (ONNX Runtime)"
    )
    parser.add_argument("--calibrate", default=None, help="with --int8: dataset whose training images set the scales")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--calibration-batches", type=int, default=16, help="with --int8: batches of 32 images")
    parser.set_defaults(run=run)


def _float_batches(loader, adapter, limit: int | None = None):
    """Normalized float32 numpy batches, as the model takes them, from a loader of uint8 images."""
    for index, (images, _) in enumerate(loader):
        if limit is not None and index >= limit:
            return
        with torch.no_grad():
            yield adapter(images).numpy()


def quantize(args: argparse.Namespace, spec: ckpt.ModelSpec, fp32_path: Path) -> None:
    """``--int8``: calibrate on ``--calibrate``'s training split, check agreement on its test split."""
    from ..data import load_dataset
    from ..deploy.int8 import quantize_onnx, top1_agreement
    from ..runtime import decoding_workers

    data = load_dataset(args.calibrate, args.data_dir, folder=spec.folder_options())
    if list(data.classes) != list(spec.classes):
        raise OptionError(f"{args.calibrate} does not have the checkpoint's classes; calibrate on its training data")
    adapter = spec.adapter(data.channels).eval()
    int8_path = fp32_path.with_suffix(".int8.onnx")
    calibration = _float_batches(
        data.train_loader(32, None, seed=0, workers=decoding_workers()), adapter, args.calibration_batches
    )
    counted = quantize_onnx(fp32_path, int8_path, calibration)
    agreement, count = top1_agreement(
        fp32_path, int8_path, _float_batches(data.test_loader(64, workers=decoding_workers()), adapter)
    )
    size = int8_path.stat().st_size / 2**20
    print(
        f"wrote {int8_path} ({size:.1f} MiB): {counted.quantized} of {counted.convolutions} convolutions int8; "
        f"top-1 agreement with fp32 on {count} test images of {args.calibrate}: {agreement:.2%}"
    )


def run(args: argparse.Namespace) -> int:
    if (args.int8 or args.calibrate) and (args.format != "onnx" or not args.calibrate or not args.int8):
        raise OptionError("--int8 needs --format onnx and --calibrate DATA (the images that set the int8 scales)")
    if args.calibration_batches < 1:
        raise OptionError(f"--calibration-batches must be at least 1, got {args.calibration_batches}")
    int8_path = args.out.with_suffix(".int8.onnx")
    for path in (args.out, Path(f"{args.out}.json"), *([int8_path] if args.int8 else [])):
        writable_file(path)  # a folder, a link or a read-only place: refused before exporting
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
    if args.int8:
        quantize(args, spec, path)
    return 0
