"""``convzoo eval --checkpoint FILE``: top-1/top-5, per-class accuracy, confusion matrix (printed and PNG)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import checkpoint as ckpt
from ..data import load_dataset
from ..data.streaming import describe_skipped
from ..errors import DataError
from ..evaluation import evaluate
from ..report.plots import plot_confusion
from ..runtime import Context, decoding_workers, resolve_amp, resolve_device
from ..tables import console, emit


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


def run(args: argparse.Namespace) -> int:
    checkpoint = ckpt.load(args.checkpoint)
    spec = checkpoint.model
    data_name = args.data or spec.dataset
    data = load_dataset(data_name, args.data_dir, folder=spec.folder_options())
    if list(data.classes) != list(spec.classes):
        raise DataError(
            f"{data_name} has {data.num_classes} classes, the checkpoint was trained on {len(spec.classes)} "
            f"({', '.join(spec.classes[:3])}, ...)"
        )
    context = Context(device=resolve_device(args.device))
    model = checkpoint.build_model().to(context.device)
    adapter = spec.adapter(data.channels)
    loader = data.test_loader(args.batch_size, workers=decoding_workers())
    result = evaluate(
        model, adapter.to(context.device), loader, classes=data.classes, context=context,
        amp_dtype=resolve_amp(args.amp, context.device), flip_tta=args.tta,
    )  # fmt: skip
    out = args.out or args.checkpoint.parent
    stem = f"eval-{Path(data_name).name.replace(':', '_')}"
    image = plot_confusion(
        result.confusion,
        data.classes,
        out / f"{stem}-confusion.png",
        f"{spec.name} on {data_name}: top-1 {result.top1:.2%}",
    )
    report = {
        "checkpoint": str(args.checkpoint),
        "data": data_name,
        "tta": args.tta,
        **result.as_dict(),
        "confusion_png": str(image),
        "skipped_files": {**data.skipped, **loader.skipped},
    }
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
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
