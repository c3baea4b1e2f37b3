# SPDX-License-Identifier: MIT
"""What an epoch measures: running training totals by name, and the row of metrics logged when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..data.streaming import describe_skipped
from ..evaluation import EvalResult
from ..runtime import Context, all_reduce_sum


@dataclass(frozen=True)
class EpochSums:
    """Training totals of the epoch so far, summed over images (means are taken when it ends).

    A checkpoint stores them as the plain list ``[loss, correct, count]`` (``TrainState.sums``), because a
    checkpoint holds plain data only; code reads them through this type, by name.
    """

    loss: float = 0.0  # per-image training loss, summed
    correct: float = 0.0  # images whose top prediction was the label
    count: float = 0.0  # images seen

    @classmethod
    def from_list(cls, values: list[float]) -> EpochSums:
        loss, correct, count = values
        return cls(loss, correct, count)

    def as_list(self) -> list[float]:
        return [self.loss, self.correct, self.count]

    def plus(self, mean_loss: float, correct: int, count: int) -> EpochSums:
        """These totals and one batch of ``count`` images with ``mean_loss`` and ``correct`` right answers."""
        return EpochSums(self.loss + mean_loss * count, self.correct + correct, self.count + count)

    @property
    def mean_loss(self) -> float:
        return self.loss / max(self.count, 1.0)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.count, 1.0)


def epoch_row(
    epoch: int,
    sums: EpochSums,
    result: EvalResult,
    *,
    lr: float,
    seconds: float,
    eval_seconds: float,
    train_side: int,
    data_wait: float,
    skipped: dict[str, Any],
) -> dict[str, Any]:
    """The metrics row of a finished epoch (``sums`` over all processes), as logged and returned in the history."""
    return {
        "epoch": epoch,
        "train_loss": round(sums.mean_loss, 5),
        "train_top1": round(sums.accuracy, 5),
        "test_loss": round(result.loss, 5),
        "test_top1": round(result.top1, 5),
        "test_top5": round(result.top5, 5),
        "test_count": result.count,
        "lr": lr,
        "epoch_seconds": round(seconds, 2),
        "eval_seconds": round(eval_seconds, 2),
        "train_images_per_s": round(max(sums.count, 1.0) / max(seconds, 1e-9), 1),
        "train_side": train_side,
        "data_wait_s": round(data_wait, 2),  # of epoch_seconds, waiting for batches (decoding)
        **skipped,
    }


def skipped_files(sources: list[Any], context: Context) -> dict[str, Any]:
    """Unreadable files the dataset and its loaders met so far (all ranks' count; this rank's first names)."""
    skipped = {name: why for source in sources for name, why in source.skipped.items()}
    total = all_reduce_sum(torch.tensor([float(len(skipped))], dtype=torch.float64), context)
    return {"skipped_files": int(total.item()), "skipped_examples": describe_skipped(skipped)}
