# SPDX-License-Identifier: MIT
"""A rich progress bar per epoch: loss, accuracy, images/s and time left."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..formats import console


class EpochProgress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        # notes and rows name classes and files: "[dogs]" must print as written, not be read as rich markup
        self.console = console(stderr=True)
        self.progress: Progress | None = None

    def start(self, epoch: int, epochs: int, steps: int, done: int) -> None:
        if not self.enabled:
            return
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.3f}  acc {task.fields[acc]:.1%}  {task.fields[speed]:.0f} img/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            "train", total=steps, completed=done, epoch=f"{epoch + 1}/{epochs}", loss=0.0, acc=0.0, speed=0.0
        )
        self.started, self.images = time.perf_counter(), 0

    def advance(self, state, images: int) -> None:
        if self.progress is None:
            return
        self.images += images
        sums = state.epoch_sums
        speed = self.images / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=1, loss=sums.mean_loss, acc=sums.accuracy, speed=speed)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def report(self, row: dict[str, Any]) -> None:
        if self.enabled:
            self.console.print(
                f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} acc {row['train_top1']:.2%} | "
                f"test loss {row['test_loss']:.4f} top-1 {row['test_top1']:.2%} | "
                f"{row['train_images_per_s']:.0f} img/s, {row['epoch_seconds']:.1f} s"
            )


def timed(batches: Iterable, waited: Callable[[float], None]) -> Iterator:
    """``batches``, telling ``waited`` the seconds spent waiting for each (a starved model shows there)."""
    iterator = iter(batches)
    while True:
        start = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            return
        waited(time.perf_counter() - start)
        yield batch
