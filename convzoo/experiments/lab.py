# SPDX-License-Identifier: MIT
"""What every lecture-lab experiment shares: the data, step planning, and the record.

The experiments train small networks for a few minutes, many times, with the short-run trainer
(:mod:`convzoo.training.short_run`: the engine's step, parameter groups, schedule and precise batch norm,
without checkpoints), on the device, precision and memory format that :mod:`.precision` measured fastest for
the run (fp32 unless bf16 is native and clearly faster; evaluation is always fp32). Steps are
planned against the run's :class:`~convzoo.budget.Budget`, each model's step timed once
(:func:`convzoo.bench.timing.time_interleaved`). The data is the embedded Fashion-MNIST sample (5,000 training and
1,000 test images, 28×28 grey), present on every machine.

A run writes ``results.json`` (numbers, the command, commit, CPU kind and wall
time), ``report.md`` (the same, for reading, with the verdict on the lecture's
claim) and PNG plots into its output folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from .. import files
from ..bench.timing import time_interleaved
from ..budget import Budget, now, steps_that_fit
from ..data import load_dataset
from ..plotting import pyplot
from ..training.short_run import Data, Recipe, train
from .precision import Settings
from .record import write_record


def fashion_mnist_sample() -> Data:
    """The embedded Fashion-MNIST sample, normalized with its training mean and std."""
    data = load_dataset("fashion-mnist-mini")
    mean, std = data.mean[0], data.std[0]

    def normalize(images: Tensor) -> Tensor:
        return (images.float() / 255 - mean) / std

    return Data(
        normalize(data.train_images),
        data.train_labels,
        normalize(data.test_images),
        data.test_labels,
        list(data.classes),
    )


def seconds_per_step(build: Callable[[], nn.Module], data: Data, recipe: Recipe, repeats: int = 3) -> float:
    """Median wall time of one training step of a freshly built model (after one warm-up step)."""
    step = partial(train, build(), data, replace(recipe, steps=1, warmup_steps=1))
    return time_interleaved({"step": step}, warmup=1, repeats=repeats, device=recipe.device)["step"].median


def planned_steps(budget_seconds: float, seconds_per_round: float, minimum: int, maximum: int) -> int:
    """Steps per run so that all runs (``seconds_per_round`` for one step of each) fit the budget; at least
    ``minimum``: an experiment that cannot train at all has nothing to report."""
    return max(minimum, steps_that_fit(budget_seconds, seconds_per_round, maximum=maximum))


@dataclass
class Lab:
    """One experiment run: where it writes, how long it may take, whether it is the quick version."""

    name: str
    out: Path
    budget_minutes: float
    quick: bool
    started: float = field(default_factory=now)  # the clock of :meth:`until`
    step_seconds: list[dict] = field(default_factory=list)  # what ``steps`` timed, for the record
    settings: Settings = field(default_factory=Settings)  # how every recipe of the run trains
    speed: dict = field(default_factory=dict)  # how ``settings`` was chosen (:func:`.precision.choose`)
    scope: str | None = None  # the part of the experiment that runs (its ``SCOPES``); None: the whole

    def recipe(self, **fields: Any) -> Recipe:
        """A :class:`Recipe` with ``fields`` that trains in this run's :attr:`settings`."""
        return Recipe(**{**asdict(self.settings), **fields})

    @property
    def budget_seconds(self) -> float:
        return self.budget_minutes * 60

    def elapsed(self) -> float:
        return self.until(1.0).elapsed()

    def until(self, share: float, reserve_seconds: float = 0.0) -> Budget:
        """The clock of this run, limited to the first ``share`` of its budget, ``reserve_seconds`` kept back."""
        return Budget(self.budget_seconds * share, reserve_s=reserve_seconds, started=self.started)

    def reserve(self, measure_once: Callable[[], Any], times: float, *, cap_share: float = 0.5) -> float:
        """Seconds to keep back for ``times`` repeats of ``measure_once`` (the measurements after training).

        ``measure_once`` runs twice and the faster run counts: the first pays one-time costs (kernel creation,
        allocation) and, on a shared machine, whatever else was running. One slow timing multiplied by ``times``
        once left a run 3 training steps, so the reserve is also capped at ``cap_share`` of the budget.
        ``--quick`` reserves nothing.
        """
        if self.quick:
            return 0.0
        durations = []
        for _ in range(2):
            started = now()
            measure_once()
            durations.append(now() - started)
        return min(min(durations) * times, cap_share * self.budget_seconds)

    def test_split(self, data: Data) -> tuple[Tensor, Tensor]:
        """The test images to score: all 1,000, or the first 200 with ``--quick``."""
        count = 200 if self.quick else len(data.test_labels)
        return data.test_images[:count], data.test_labels[:count]

    def steps(
        self,
        builders: list[Callable[[], nn.Module]],
        data: Data,
        recipe: Recipe,
        *,
        share: float,
        quick_steps: int,
        maximum: int,
        runs_each: int = 1,
        reserve_seconds: float = 0.0,
    ) -> int:
        """Training steps per run so that every builder's runs fit ``share`` of what is left of the budget.

        One step of each model is timed first (the timings are kept in ``step_seconds``); ``reserve_seconds`` is
        set aside for work other than training (measurements after it). ``--quick`` skips the timing and takes
        ``quick_steps``.
        """
        if self.quick:
            return quick_steps
        timings = [seconds_per_step(build, data, recipe) for build in builders]
        self.step_seconds.append(
            {
                "batch_size": recipe.batch_size,
                "image_size": recipe.image_size,
                "seconds": [round(t, 4) for t in timings],
                "runs_each": runs_each,
            }
        )
        budget = self.until(share, reserve_seconds)
        return max(quick_steps, budget.steps(sum(timings) * runs_each, maximum=maximum))

    def plot(self, file_name: str, draw: Callable[[Any], None], *, size: tuple[float, float] = (7, 4.2)) -> str:
        """A PNG drawn by ``draw(pyplot)`` into the output folder; returns its file name."""
        plt = pyplot()
        figure = plt.figure(figsize=size)
        draw(plt)
        figure.tight_layout()
        files.write_figure(self.out / file_name, figure, dpi=110)
        plt.close(figure)
        return file_name

    def record(self, results: dict[str, Any], body: str, **verdict: Any) -> Path:
        """Write results.json and report.md: :func:`.record.write_record`, whose keywords (``claim``, ``held``,
        ``verdict``, ``parts``) ``verdict`` carries; ``held`` None means the run cannot tell."""
        return write_record(self, results, body, **verdict)
