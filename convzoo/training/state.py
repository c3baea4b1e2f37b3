"""What a training run is made of besides the loop: its position, its result, and the batch mixing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .config import TrainConfig


@dataclass
class TrainState:
    """Where the run is; saved in every checkpoint."""

    epoch: int = 0  # completed epochs
    step_in_epoch: int = 0  # completed steps of the current epoch
    global_step: int = 0
    best_top1: float = 0.0
    sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # train loss, correct, count this epoch
    skipped_batches: int = 0  # batches skipped for a non-finite loss (on_nan="skip")
    # the metrics row of the last finished epoch: logged after its checkpoint is saved, so a crash in between
    # leaves it only here, and a resume appends it (exactly once)
    last_row: dict[str, Any] | None = None


MAX_SKIPPED_BATCHES = 10  # with on_nan="skip": more than this many is divergence, not a bad batch


class StopAtBoundary(Exception):
    """Raised between two steps when a stop was requested; the position is exact."""


@dataclass
class TrainResult:
    run_dir: Path
    history: list[dict[str, Any]]
    interrupted: bool = False
    is_main: bool = True  # False on the ranks > 0 of a torchrun job
    stop_signal: str | None = None  # "SIGTERM", "SIGUSR1", "SIGINT" when a signal stopped the run
    exit_code: int = 0  # 128 + the signal number when stopped by a signal
    classes: list[str] = field(default_factory=list)  # the dataset's class names

    @property
    def final(self) -> dict[str, Any]:
        return self.history[-1] if self.history else {}


def mix(images: torch.Tensor, labels: torch.Tensor, config: TrainConfig, num_classes: int):
    """Mixup/CutMix from torchvision on the batch; labels become soft targets."""
    if not (config.mixup or config.cutmix):
        return images, labels
    from torchvision.transforms import v2

    choices = [t for t, a in ((v2.MixUp, config.mixup), (v2.CutMix, config.cutmix)) if a]
    alphas = [a for a in (config.mixup, config.cutmix) if a]
    transform = v2.RandomChoice([t(alpha=a, num_classes=num_classes) for t, a in zip(choices, alphas)])
    return transform(images, labels)
