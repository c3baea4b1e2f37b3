# SPDX-License-Identifier: MIT
"""What a training run is made of besides the loop: its position, its result, and how it stops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errors
from ..errors import DivergedError, ResourceError
from .metrics import EpochSums


@dataclass
class TrainState:
    """Where the run is; saved in every checkpoint."""

    epoch: int = 0  # completed epochs
    step_in_epoch: int = 0  # completed steps of the current epoch
    global_step: int = 0
    best_top1: float = 0.0
    # this epoch's training totals, stored as plain data (loss, correct, count); read them as ``epoch_sums``
    sums: list[float] = field(default_factory=lambda: EpochSums().as_list())
    skipped_batches: int = 0  # batches skipped for a non-finite loss (on_nan="skip")
    # the metrics row of the last finished epoch: logged after its checkpoint is saved, so a crash in between
    # leaves it only here, and a resume appends it (exactly once)
    last_row: dict[str, Any] | None = None

    @property
    def epoch_sums(self) -> EpochSums:
        return EpochSums.from_list(self.sums)

    def add_batch(self, mean_loss: float, correct: int, count: int) -> None:
        self.sums = self.epoch_sums.plus(mean_loss, correct, count).as_list()


MAX_SKIPPED_BATCHES = 10  # with on_nan="skip": more than this many is divergence, not a bad batch


def skip_or_diverge(
    state: TrainState, value: float, on_nan: str, kept_checkpoint: Callable[[], str], *, announce: bool
) -> None:
    """A batch's loss is ``value`` (NaN or infinite): skip it (``on_nan="skip"``, a few times) or stop the run."""
    where = f"epoch {state.epoch + 1}, step {state.step_in_epoch + 1}"
    if on_nan == "skip" and state.skipped_batches < MAX_SKIPPED_BATCHES:
        state.skipped_batches += 1
        if announce:
            print(
                f"convzoo: skipped a batch with a non-finite loss at {where} "
                f"({state.skipped_batches} of at most {MAX_SKIPPED_BATCHES})"
            )
        return
    skipped = f" after skipping {state.skipped_batches} batches" if state.skipped_batches else ""
    raise DivergedError(
        f"the training loss became {value} at {where}{skipped}; {kept_checkpoint()}. "
        "Lower --lr, set --grad-clip, or use --amp none (or --on-nan skip for rare bad batches)"
    )


class StopAtBoundary(Exception):
    """Raised between two steps when a stop was requested; the position is exact."""


@dataclass
class TrainResult:
    """What ``train`` returns: where the run wrote, its metrics rows, and how it ended."""

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


def out_of_memory(error: RuntimeError, batch_size: int) -> ResourceError | None:
    """The one-line error for running out of memory in training, naming the batch size; None for anything else."""
    return errors.out_of_memory(error, f"a smaller --batch-size than {batch_size}")
