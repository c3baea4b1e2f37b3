"""Evaluation: loss, top-1/top-5, per-class accuracy, confusion matrix, throughput; optional flip TTA."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .data import BatchLoader, InputAdapter
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
        return {name: float(acc) for name, acc in zip(self.classes, accuracy)}

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
) -> EvalResult:
    """Evaluate ``model`` over ``loader``; with several processes the counts are summed over ranks."""
    was_training = model.training
    model.eval()
    num_classes = len(classes)
    sums = torch.zeros(4, dtype=torch.float64)  # loss, top-1, top-5, count
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    start = time.perf_counter()
    for images, labels in loader:
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
