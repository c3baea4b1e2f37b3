"""``convzoo eval --checkpoint FILE``: top-1/top-5, per-class accuracy, confusion matrix (printed and PNG)."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from .. import checkpoint as ckpt
from ..data import load_dataset
from ..data.streaming import describe_skipped
from ..errors import DataError, OptionError
from ..evaluation import evaluate
from ..files import write_bytes, write_text
from ..report.plots import plot_confusion
from ..runtime import Context, decoding_workers, resolve_amp, resolve_device
from ..tables import console, emit
from .outputs import writable_file


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a checkpoint on a dataset's test split")
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("--data", default=None, help="dataset (default: the one the checkpoint was trained on)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--tta", action="store_true", help="average with horizontally flipped images")
    parser.add_argument("--amp", default="none", choices=("auto", "none", "bf16"))
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write the confusion PNG and JSON (default: beside the checkpoint)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def check_classes(data_name: str, classes: list[str], trained: list[str]) -> None:
    """The data must have the checkpoint's classes, in its order: say how they differ."""
    if classes == trained:
        return
    if len(classes) != len(trained):
        raise DataError(
            f"{data_name} has {len(classes)} classes, the checkpoint was trained on {len(trained)} "
            f"({', '.join(trained[:3])}{', ...' if len(trained) > 3 else ''}); evaluate on data with its classes"
        )
    index = next(i for i, (ours, theirs) in enumerate(zip(classes, trained)) if ours != theirs)
    raise DataError(
        f"{data_name} has the checkpoint's class count ({len(classes)}) but other class names: class {index} is "
        f"{classes[index]!r} there and {trained[index]!r} in the checkpoint; evaluate on data with its classes"
    )


def confusion_png(confusion, classes: list[str], title: str) -> bytes:
    """The confusion-matrix PNG as bytes (``plot_confusion`` saves to a path: a private temporary folder)."""
    with tempfile.TemporaryDirectory() as scratch:
        return plot_confusion(confusion, classes, Path(scratch) / "confusion.png", title).read_bytes()


def run(args: argparse.Namespace) -> int:
    checkpoint = ckpt.load(args.checkpoint)
    spec = checkpoint.model
    data_name = args.data or spec.dataset
    if not data_name:
        raise OptionError(f"{args.checkpoint} does not name the dataset it was trained on; pass --data NAME")
    out = args.out or args.checkpoint.parent
    stem = f"eval-{Path(data_name).name.replace(':', '_')}"
    json_path, png_path = out / f"{stem}.json", out / f"{stem}-confusion.png"
    for path in (json_path, png_path):  # refused now, not after the evaluation
        writable_file(path)
    data = load_dataset(data_name, args.data_dir, folder=spec.folder_options())
    check_classes(data_name, list(data.classes), list(spec.classes))
    context = Context(device=resolve_device(args.device))
    model = checkpoint.build_model().to(context.device)
    adapter = spec.adapter(data.channels)
    loader = data.test_loader(args.batch_size, workers=decoding_workers())
    result = evaluate(
        model, adapter.to(context.device), loader, classes=data.classes, context=context,
        amp_dtype=resolve_amp(args.amp, context.device), flip_tta=args.tta,
    )  # fmt: skip
    title = f"{spec.name} on {data_name}: top-1 {result.top1:.2%}"
    image = write_bytes(png_path, confusion_png(result.confusion, data.classes, title))
    report = {
        "checkpoint": str(args.checkpoint),
        "data": data_name,
        "tta": args.tta,
        **result.as_dict(),
        "confusion_png": str(image),
        "skipped_files": {**data.skipped, **loader.skipped},
    }
    write_text(json_path, json.dumps(report, indent=2) + "\n")
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print(f"{spec.name} on {data_name} test split ({result.count} images{', flip TTA' if args.tta else ''})")
    skipped = {**data.skipped, **loader.skipped}
    if skipped:
        print(f"skipped {len(skipped)} unreadable files: {describe_skipped(skipped)}")
    print(
        f"top-1 {result.top1:.2%}   top-5 {result.top5:.2%}   loss {result.loss:.4f}   {result.images_per_s:.0f} images/s"
    )
    emit(
        [{"class": name, "accuracy": f"{acc:.2%}"} for name, acc in result.per_class.items()],
        "table",
        title="per-class accuracy",
    )
    matrix = [
        {"true \\ predicted": data.classes[i], **{str(j): int(v) for j, v in enumerate(row)}}
        for i, row in enumerate(result.confusion.tolist())
    ]
    emit(matrix, "table", title="confusion matrix (columns: predicted class index)")
    console().print(f"confusion matrix: {image}")
    return 0
