# SPDX-License-Identifier: MIT
"""Evaluation: loss, top-1/top-5, per-class accuracy, confusion matrix, throughput; optional flip TTA.

:func:`measure_imagenet` measures released weights on a local ImageNet-1k validation set with the same loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import BatchLoader, InputAdapter
from .files import printable
from .runtime import Context, all_reduce_sum, autocast


@dataclass
class EvalResult:
    loss: float
    top1: float  # fraction correct, 0–1
    top5: float
    count: int
    images_per_s: float
    confusion: torch.Tensor  # (true class, predicted class) counts
    classes: list[str] = field(default_factory=list)

    @property
    def per_class(self) -> dict[str, float]:
        totals = self.confusion.sum(1).clamp_min(1)
        accuracy = self.confusion.diag() / totals
        # strict=False: evaluate() always names every class, but a result made by hand may leave classes at its
        # default (empty): then it has no per-class entries, as before
        return {name: float(acc) for name, acc in zip(self.classes, accuracy, strict=False)}

    def as_dict(self) -> dict:
        return {
            "loss": round(self.loss, 5),
            "top1": round(self.top1, 5),
            "top5": round(self.top5, 5),
            "count": self.count,
            "images_per_s": round(self.images_per_s, 1),
            "per_class": {k: round(v, 4) for k, v in self.per_class.items()},
            "confusion": self.confusion.tolist(),
            "classes": self.classes,
        }


@torch.no_grad()
def evaluate(
    model: nn.Module,
    adapter: InputAdapter,
    loader: BatchLoader,
    *,
    classes: list[str],
    context: Context = Context(),
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
    flip_tta: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> EvalResult:
    """Evaluate ``model`` over ``loader``; with several processes the counts are summed over ranks.
    ``on_batch(images)`` is called after each batch (a progress bar)."""
    was_training = model.training
    model.eval()
    num_classes = len(classes)
    sums = torch.zeros(4, dtype=torch.float64)  # loss, top-1, top-5, count
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    start = time.perf_counter()
    for images, labels in loader:
        if not len(labels):  # a streamed batch whose every file was unreadable (named in loader.skipped)
            continue
        x = adapter(images.to(context.device, non_blocking=True))
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        labels = labels.to(context.device)
        with autocast(context.device, amp_dtype):
            logits = model(x).float()
            if flip_tta:
                logits = (logits + model(x.flip(3)).float()) / 2
        sums[0] += F.cross_entropy(logits, labels, reduction="sum").item()
        top = logits.topk(min(5, num_classes), dim=1).indices
        sums[1] += (top[:, 0] == labels).sum().item()
        sums[2] += (top == labels[:, None]).any(1).sum().item()
        sums[3] += len(labels)
        if on_batch is not None:
            on_batch(len(labels))
        confusion += torch.bincount(labels.cpu() * num_classes + top[:, 0].cpu(), minlength=num_classes**2).view(
            num_classes, num_classes
        )
    elapsed = time.perf_counter() - start
    all_reduce_sum(sums, context)
    all_reduce_sum(confusion, context)
    model.train(was_training)
    count = max(int(sums[3]), 1)
    return EvalResult(
        loss=float(sums[0]) / count,
        top1=float(sums[1]) / count,
        top5=float(sums[2]) / count,
        count=int(sums[3]),
        images_per_s=float(sums[3]) / max(elapsed, 1e-9),
        confusion=confusion,
        classes=list(classes),
    )


def measure_imagenet(
    model_name: str,
    source: str | bool,
    path: str | Path,
    *,
    limit: int | None = None,
    labels: str | Path | None = None,
    batch_size: int = 64,
    device: str = "auto",
    workers: int | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> dict:
    """Top-1/top-5 of ``model_name``'s released weights from ``source`` (``True``: its default source) on the
    ImageNet-1k validation images under ``path`` (:mod:`convzoo.data.imagenet`), prepared with the weights' own
    evaluation transform. Percentages, as the published top-1 beside them. ``on_start(images)`` is called
    once the images are listed, before the weights are loaded (a progress bar's total)."""
    from torchvision.transforms import v2

    from .data.imagenet import find_imagenet, imagenet_loader, spread_over_classes
    from .deploy.predict import evaluation_transform
    from .factory import create_model
    from .runtime import decoding_workers, resolve_device

    files = spread_over_classes(find_imagenet(path, labels), limit)
    if on_start is not None:
        on_start(len(files))
    context = Context(device=resolve_device(device))
    model = create_model(model_name, pretrained=source).to(context.device)
    weights = model.pretrained_weights
    steps = evaluation_transform(weights.transform).transforms
    cut = next(i for i, step in enumerate(steps) if isinstance(step, v2.ToDtype))
    # resize and crop in the workers, so batches cross processes as uint8; scale and normalize per batch
    loader = imagenet_loader(
        files, v2.Compose(steps[:cut]), batch_size, decoding_workers() if workers is None else workers
    )
    normalize = v2.Compose(steps[cut:])
    result = evaluate(
        model,
        normalize,
        loader,
        classes=[str(i) for i in range(weights.num_classes)],
        context=context,
        on_batch=on_batch,
    )
    return {
        "model": model_name,
        "source": weights.source,
        "weights": weights.tag,
        "data": str(path),
        "layout": files.layout,
        "labels_file": None if files.labels_file is None else str(files.labels_file),
        "images": result.count,
        "classes": len(set(files.labels)),
        "limit": limit,
        "top1_pct": round(100 * result.top1, 3),
        "top5_pct": round(100 * result.top5, 3),
        "published_top1_pct": weights.top1,
        "loss": round(result.loss, 5),
        "images_per_s": round(result.images_per_s, 1),
        "device": str(context.device),
        "transform": asdict(weights.transform),
        "skipped_files": {printable(path): why for path, why in loader.skipped.items()},
        "notes": files.notes,
    }
