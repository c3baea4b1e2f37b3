# SPDX-License-Identifier: MIT
"""``convzoo eval``: a trained checkpoint, or released weights on a local ImageNet-1k validation set.

``--checkpoint FILE``: top-1/top-5, per-class accuracy, confusion matrix (printed and PNG).
``--model NAME --pretrained [--source S] --data imagenet:PATH``: top-1/top-5 of the released weights with their
own evaluation transform, next to their published top-1 (:func:`convzoo.evaluation.measure_imagenet`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import checkpoint as ckpt
from ..data import load_dataset
from ..data.streaming import describe_skipped
from ..errors import DataError, OptionError
from ..evaluation import evaluate, measure_imagenet
from ..files import printable, write_text
from ..formats import console, emit, to_json
from ..report.plots import plot_confusion
from ..runtime import Context, decoding_workers, resolve_amp, resolve_device
from ..weights.catalog import SOURCES
from .outputs import writable_file


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="evaluate a checkpoint on a dataset's test split, or released weights on ImageNet"
    )
    parser.add_argument("--checkpoint", type=Path, help="a convzoo checkpoint (from convzoo train)")
    parser.add_argument("--model", help="with --pretrained: a registered model with released weights")
    parser.add_argument("--pretrained", action="store_true", help="measure the model's released ImageNet weights")
    parser.add_argument("--source", choices=SOURCES, help="with --pretrained: whose weights (default: torchvision's)")
    parser.add_argument(
        "--data",
        default=None,
        help="dataset (default: the one the checkpoint was trained on); with --pretrained: imagenet:PATH",
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--labels", type=Path, help="imagenet: the labels file of a flat folder (default: found beside the images)"
    )
    parser.add_argument("--limit", type=int, help="imagenet: N images, spread evenly over the classes")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 256 (checkpoint), 64 (imagenet)")
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
    index = next(i for i, (ours, theirs) in enumerate(zip(classes, trained, strict=True)) if ours != theirs)
    raise DataError(
        f"{data_name} has the checkpoint's class count ({len(classes)}) but other class names: class {index} is "
        f"{classes[index]!r} there and {trained[index]!r} in the checkpoint; evaluate on data with its classes"
    )


def run(args: argparse.Namespace) -> int:
    if args.checkpoint is None:
        return run_imagenet(args)
    given = [f"--{name}" for name in ("model", "pretrained", "source", "labels", "limit") if getattr(args, name)]
    if given:
        raise OptionError(f"{', '.join(given)}: for released weights (--model NAME --pretrained), not --checkpoint")
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
    loader = data.test_loader(args.batch_size or 256, workers=decoding_workers())
    result = evaluate(
        model,
        adapter.to(context.device),
        loader,
        classes=data.classes,
        context=context,
        amp_dtype=resolve_amp(args.amp, context.device),
        flip_tta=args.tta,
    )
    title = f"{spec.name} on {data_name}: top-1 {result.top1:.2%}"
    image = plot_confusion(result.confusion, data.classes, png_path, title)  # atomic, refuses a link (files.py)
    report = {
        "checkpoint": str(args.checkpoint),
        "data": data_name,
        "tta": args.tta,
        **result.as_dict(),
        "confusion_png": str(image),
        "skipped_files": {printable(path): why for path, why in {**data.skipped, **loader.skipped}.items()},
    }
    write_text(json_path, to_json(report, indent=2) + "\n")
    if args.format == "json":
        print(to_json(report, indent=2))
        return 0
    print(f"{spec.name} on {data_name} test split ({result.count} images{', flip TTA' if args.tta else ''})")
    skipped = {**data.skipped, **loader.skipped}
    if skipped:
        print(f"skipped {len(skipped)} unreadable files: {describe_skipped(skipped)}")
    print(
        f"top-1 {result.top1:.2%}   top-5 {result.top5:.2%}   loss {result.loss:.4f}   {result.images_per_s:.0f} "
        "images/s"
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


IMAGENET_USAGE = "convzoo eval --model NAME --pretrained [--source timm] --data imagenet:PATH"


def run_imagenet(args: argparse.Namespace) -> int:
    """Released weights on a local ImageNet-1k validation set; the table, or JSON with ``--format json``."""
    if not args.model or not args.pretrained:
        raise OptionError(f"give either --checkpoint FILE, or {IMAGENET_USAGE}")
    if not (args.data or "").startswith("imagenet:") or args.data == "imagenet:":
        raise OptionError(f"--pretrained measures on a local ImageNet-1k validation set: {IMAGENET_USAGE}")
    if args.tta or args.amp != "none" or args.out or args.data_dir:
        raise OptionError("--tta, --amp, --out and --data-dir apply to --checkpoint evaluation only")
    progress = ImageProgress(enabled=args.format != "json")
    try:
        report = measure_imagenet(
            args.model,
            args.source or True,
            args.data.removeprefix("imagenet:"),
            limit=args.limit,
            labels=args.labels,
            batch_size=args.batch_size or 64,
            device=args.device,
            on_start=progress.start,
            on_batch=progress.advance,
        )
    finally:
        progress.finish()
    if args.format == "json":
        print(to_json(report, indent=2))
        return 0
    print(
        f"{report['model']}, {report['source']} weights {report['weights']}, on {report['data']} "
        f"({report['layout']}, {report['images']} images of {report['classes']} classes)"
    )
    for note in report["notes"]:
        print(f"note: {note}")
    if report["skipped_files"]:
        print(f"skipped {len(report['skipped_files'])} unreadable files: {describe_skipped(report['skipped_files'])}")
    published = report["published_top1_pct"]
    print(
        f"top-1 {report['top1_pct']:.2f}%   top-5 {report['top5_pct']:.2f}%   "
        f"published top-1 {'unknown' if published is None else f'{published:.2f}%'}   "
        f"{report['images_per_s']:.0f} images/s"
    )
    if report["limit"] is not None:
        print(f"(--limit {report['limit']}: a class-balanced subset; the published figure is on all 50,000 images)")
    return 0


class ImageProgress:
    """A rich progress bar over the images, on stderr, gone when done (the report stays)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.progress = enabled, None

    def start(self, total: int) -> None:
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("evaluating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console(stderr=True),
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("eval", total=total)

    def advance(self, images: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=images)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
