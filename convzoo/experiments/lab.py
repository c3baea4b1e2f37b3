"""What every lecture-lab experiment shares: the data, a plain training loop, step planning, and the record.

The experiments train small networks for a few minutes, many times, with
per-step hooks (gradient norms per layer), so they use this short loop rather
than the training engine, which is built for long runs with checkpoints. The
loop is the textbook one: SGD with momentum and weight decay, a linear warm-up
and cosine decay, fp32 everywhere (so results mean the same on AVX2 and AMX
machines). The data is the embedded Fashion-MNIST sample (5,000 training and
1,000 test images, 28×28 grey), present on every machine.

A run writes ``results.json`` (numbers, the command, commit, CPU kind and wall
time), ``report.md`` (the same, for reading, with the verdict on the lecture's
claim) and PNG plots into its output folder.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import files
from ..data import load_dataset
from ..provenance import provenance
from ..report.plots import _pyplot
from ..runtime import cpu_kind


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

    return Data(normalize(data.train_images), data.train_labels, normalize(data.test_images), data.test_labels,
                list(data.classes))  # fmt: skip


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


@dataclass
class Curve:
    """What one training run recorded, per step."""

    loss: list[float] = field(default_factory=list)
    error: list[float] = field(default_factory=list)  # training error of each batch

    def smoothed_error(self, window: int = 20) -> list[float]:
        return [sum(self.error[max(0, i - window + 1) : i + 1]) / len(self.error[max(0, i - window + 1) : i + 1])
                for i in range(len(self.error))]  # fmt: skip


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
    """Train ``model`` for ``recipe.steps`` steps on random batches; ``after_backward(step, model)`` sees the gradients."""
    generator = torch.Generator().manual_seed(seed)
    decay, no_decay = [], []
    for parameter in model.parameters():
        (no_decay if parameter.ndim <= 1 else decay).append(parameter)
    optimizer = torch.optim.SGD(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=recipe.lr, momentum=recipe.momentum, nesterov=True,
    )  # fmt: skip

    def factor(step: int) -> float:
        if step < recipe.warmup_steps:
            return (step + 1) / recipe.warmup_steps
        progress = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    curve = Curve()
    model.train()
    for step in range(recipe.steps):
        index = torch.randint(0, len(data.train_labels), (recipe.batch_size,), generator=generator)
        images = resized(data.train_images[index], recipe.image_size)
        labels = data.train_labels[index]
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if after_backward is not None:
            after_backward(step, model)
        if recipe.clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), recipe.clip_norm)
        optimizer.step()
        schedule.step()
        curve.loss.append(loss.item())
        curve.error.append((logits.argmax(1) != labels).float().mean().item())
    return curve


@torch.no_grad()
def accuracy(model: nn.Module, images: Tensor, labels: Tensor, image_size: int = 28, batch: int = 500) -> float:
    """Top-1 accuracy in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(labels), batch):
        logits = model(resized(images[start : start + batch], image_size))
        correct += (logits.argmax(1) == labels[start : start + batch]).sum().item()
    return correct / len(labels)


def seconds_per_step(build: Callable[[], nn.Module], data: Data, recipe: Recipe, repeats: int = 3) -> float:
    """Median wall time of one training step of a freshly built model (after one warm-up step)."""
    model = build()
    probe = Recipe(**{**recipe.__dict__, "steps": 1, "warmup_steps": 1})
    train(model, data, probe)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        train(model, data, probe)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def planned_steps(budget_seconds: float, seconds_per_round: float, minimum: int, maximum: int) -> int:
    """Steps per run so that all runs (``seconds_per_round`` for one step of each) fit the budget."""
    return max(minimum, min(maximum, int(budget_seconds / max(seconds_per_round, 1e-6))))


@dataclass
class Lab:
    """One experiment run: where it writes, how long it may take, whether it is the quick version."""

    name: str
    out: Path
    budget_minutes: float
    quick: bool
    started: float = field(default_factory=time.perf_counter)

    @property
    def budget_seconds(self) -> float:
        return self.budget_minutes * 60

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def test_split(self, data: Data) -> tuple[Tensor, Tensor]:
        """The test images to score: all 1,000, or the first 200 with ``--quick``."""
        count = 200 if self.quick else len(data.test_labels)
        return data.test_images[:count], data.test_labels[:count]

    def steps(self, builders: list[Callable[[], nn.Module]], data: Data, recipe: Recipe, *, share: float,
              quick_steps: int, maximum: int, runs_each: int = 1) -> int:  # fmt: skip
        """Training steps per run so that every builder's runs fit ``share`` of what is left of the budget.

        One step of each model is timed first; ``--quick`` skips the timing and takes ``quick_steps``.
        """
        if self.quick:
            return quick_steps
        per_round = sum(seconds_per_step(build, data, recipe) for build in builders) * runs_each
        left = self.budget_seconds * share - self.elapsed()
        return planned_steps(left, per_round, quick_steps, maximum)

    def plot(self, file_name: str, draw: Callable[[Any], None], *, size: tuple[float, float] = (7, 4.2)) -> str:
        """A PNG drawn by ``draw(pyplot)`` into the output folder; returns its file name."""
        plt = _pyplot()
        figure = plt.figure(figsize=size)
        draw(plt)
        figure.tight_layout()
        files.write_figure(self.out / file_name, figure, dpi=110)
        plt.close(figure)
        return file_name

    def record(self, results: dict[str, Any], body: str, *, claim: str, held: bool | None, verdict: str) -> Path:
        """Write results.json and report.md; ``held`` None means the run cannot tell."""
        wall = self.elapsed()
        machine = cpu_kind()
        record = {
            "experiment": self.name, "quick": self.quick, "budget_minutes": self.budget_minutes,
            "wall_seconds": round(wall, 1), "claim": claim, "held": held, "verdict": verdict,
            "provenance": provenance(allow_dirty=True), "results": results,
        }  # fmt: skip
        files.write_text(self.out / "results.json", json.dumps(record, indent=1, default=float) + "\n")
        mark = {True: "held", False: "did not hold", None: "could not be decided"}[held]
        header = (
            f"# Experiment `{self.name}`\n\n**Claim:** {claim}\n\n**At this scale the claim {mark}.** {verdict}\n\n"
            f"Command: `{record['provenance']['command']}` · machine: {machine['model']} ({machine['label']}), "
            f"{torch.get_num_threads()} threads, fp32 · wall time {wall / 60:.1f} min"
            f"{' (quick mode: too short to judge the claim)' if self.quick else ''} · commit "
            f"`{record['provenance']['git_commit']}`\n\n"
        )
        files.write_text(self.out / "report.md", header + body.rstrip() + "\n")
        return self.out / "report.md"
