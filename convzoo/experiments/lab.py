# SPDX-License-Identifier: MIT
"""What every lecture-lab experiment shares: the data, a short training loop, step planning, and the record.

The experiments train small networks for a few minutes, many times, with per-step hooks (gradient
norms per layer), so they use this short loop around the one training step
(:mod:`convzoo.training.step`) rather than the engine, which is built for long runs with checkpoints.
The loop is the textbook one: SGD with momentum and weight decay, a linear warm-up and cosine decay, on
the device, precision and memory format that :mod:`.speed` measured fastest for the run (fp32 unless bf16
is native and clearly faster; evaluation is always fp32). The data stays on the CPU; batches move. Steps
are planned against the run's :class:`~convzoo.budget.Budget`. The data is the embedded Fashion-MNIST
sample (5,000 training and 1,000 test images, 28×28 grey), present on every machine.

A run writes ``results.json`` (numbers, the command, commit, CPU kind and wall
time), ``report.md`` (the same, for reading, with the verdict on the lecture's
claim) and PNG plots into its output folder.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import files
from ..budget import Budget, now, steps_that_fit
from ..data import load_dataset
from ..plotting import pyplot
from ..training.step import TrainingStep
from .record import write_record
from .speed import Settings


@dataclass
class Data:
    """Normalized image tensors of one dataset split pair."""

    train_images: Tensor  # (N, 1, 28, 28) float, normalized
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    classes: list[str]


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


@dataclass
class Recipe:
    """One training recipe, the same for every model an experiment compares."""

    steps: int
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    clip_norm: float | None = None  # gradient clipping by global norm
    image_size: int = 28  # images are resized (bilinear) when this differs from the data's
    track_grad_norm: bool = False  # record the global gradient norm of every step (always, with clip_norm)
    # where and how the steps run: :class:`.speed.Settings`, chosen by measurement for the whole run
    device: str = "cpu"
    amp: str | None = None  # "bf16": bf16 autocast; None: fp32
    channels_last: bool = False


@dataclass
class Curve:
    """What one training run recorded, per step."""

    loss: list[float] = field(default_factory=list)
    error: list[float] = field(default_factory=list)  # training error of each batch
    grad_norm: list[float] = field(default_factory=list)  # global gradient norm before clipping, when tracked
    lr: list[float] = field(default_factory=list)  # the learning rate each step took (warm-up and cosine)

    def smoothed_error(self, window: int = 20) -> list[float]:
        return [
            sum(self.error[max(0, i - window + 1) : i + 1]) / len(self.error[max(0, i - window + 1) : i + 1])
            for i in range(len(self.error))
        ]


def resized(images: Tensor, size: int) -> Tensor:
    return images if images.shape[-1] == size else F.interpolate(images, size=size, mode="bilinear", antialias=True)


def train(
    model: nn.Module,
    data: Data,
    recipe: Recipe,
    *,
    seed: int = 0,
    after_backward: Callable[[int, nn.Module], None] | None = None,
) -> Curve:
    """Train ``model`` for ``recipe.steps`` steps on random batches.

    ``after_backward(step, model)`` sees each step's gradients before they are clipped.
    """
    generator = torch.Generator().manual_seed(seed)
    device = torch.device(recipe.device)
    model.to(device, memory_format=torch.channels_last if recipe.channels_last else torch.preserve_format)
    decay, no_decay = [], []
    for parameter in model.parameters():
        (no_decay if parameter.ndim <= 1 else decay).append(parameter)
    optimizer = torch.optim.SGD(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=True,
    )

    def factor(step: int) -> float:
        if step < recipe.warmup_steps:
            return (step + 1) / recipe.warmup_steps
        progress = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    step = TrainingStep(
        model,
        optimizer,
        amp_dtype=torch.bfloat16 if recipe.amp == "bf16" else None,
        channels_last=recipe.channels_last,
        clip_norm=recipe.clip_norm,
        track_grad_norm=recipe.track_grad_norm,
    )
    curve = Curve()
    model.train()
    for index in range(recipe.steps):
        batch = torch.randint(0, len(data.train_labels), (recipe.batch_size,), generator=generator)
        images = resized(data.train_images[batch], recipe.image_size).to(device, non_blocking=True)
        labels = data.train_labels[batch].to(device, non_blocking=True)
        hook = partial(after_backward, index, model) if after_backward is not None else None
        curve.lr.append(optimizer.param_groups[0]["lr"])
        result = step(images, partial(F.cross_entropy, target=labels), after_backward=hook)
        schedule.step()
        if result.grad_norm is not None:
            curve.grad_norm.append(float(result.grad_norm))
        curve.loss.append(result.loss.item())
        curve.error.append((result.logits.argmax(1) != labels).float().mean().item())
    return curve


def seconds_per_step(build: Callable[[], nn.Module], data: Data, recipe: Recipe, repeats: int = 3) -> float:
    """Median wall time of one training step of a freshly built model (after one warm-up step)."""
    model = build()
    probe = replace(recipe, steps=1, warmup_steps=1)
    train(model, data, probe)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        train(model, data, probe)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


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
    speed: dict = field(default_factory=dict)  # how ``settings`` was chosen (:func:`.speed.choose`)
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
