# SPDX-License-Identifier: MIT
"""Short runs that keep nothing: a few hundred steps on tensors in memory, for the lab and quick checks.

The lecture's lab trains small networks for a few minutes, many times, with per-step hooks (gradient norms per
layer); a run that keeps nothing needs no checkpoints, run lock, data loader or resumption, so it does not go
through the engine (:mod:`.engine`, built for long, resumable runs). It shares everything else with it: the one
training step (:mod:`.step`), the parameter groups and the warm-up + cosine schedule (:mod:`.optim`), and precise
batch norm (:mod:`.batch_norm`). The recipe is the textbook one: SGD with Nesterov momentum and weight decay on
the weights only, a linear warm-up and cosine decay. The data stays on the CPU; batches move to the device.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import InputAdapter, StreamingDataset, load_dataset
from ..evaluation import EvalResult, evaluate
from ..runtime import Context, resolve_amp, resolve_device
from .batch_norm import recompute_batch_norm
from .config import TrainConfig
from .optim import build_optimizer, build_schedule, parameter_groups, warmup_cosine
from .setup import build_loaders, build_model, folder_options, loader_workers, minimum_size
from .step import TrainingStep


@dataclass
class Data:
    """Normalized image tensors of one dataset split pair."""

    train_images: Tensor  # (N, 1, 28, 28) float, normalized
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    classes: list[str]


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
    # where and how the steps run (the lab's :class:`~convzoo.experiments.precision.Settings`, chosen by measurement)
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
    """Train ``model`` for ``recipe.steps`` steps on random batches of ``data`` (the lab's runs).

    ``after_backward(step, model)`` sees each step's gradients before they are clipped.
    """
    device = torch.device(recipe.device)
    model.to(device, memory_format=torch.channels_last if recipe.channels_last else torch.preserve_format)
    optimizer = torch.optim.SGD(
        parameter_groups(model, lr=recipe.lr, weight_decay=recipe.weight_decay),
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=True,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(recipe.warmup_steps, recipe.steps))
    step = TrainingStep(
        model,
        optimizer,
        amp_dtype=torch.bfloat16 if recipe.amp == "bf16" else None,
        channels_last=recipe.channels_last,
        clip_norm=recipe.clip_norm,
        track_grad_norm=recipe.track_grad_norm,
    )
    return run_steps(step, schedule, _random_batches(data, recipe, device, seed), after_backward=after_backward)


def _random_batches(data: Data, recipe: Recipe, device: torch.device, seed: int) -> Iterator[tuple[Tensor, Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    for _ in range(recipe.steps):
        batch = torch.randint(0, len(data.train_labels), (recipe.batch_size,), generator=generator)
        images = resized(data.train_images[batch], recipe.image_size).to(device, non_blocking=True)
        yield images, data.train_labels[batch].to(device, non_blocking=True)


def run_steps(
    step: TrainingStep,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    batches: Iterable[tuple[Tensor, Tensor]],
    *,
    after_backward: Callable[[int, nn.Module], None] | None = None,
) -> Curve:
    """One training step per batch (images ready for the model, labels), the schedule stepped after each; what
    each step did goes into the :class:`Curve`. The loop of every short run."""
    curve = Curve()
    step.model.train()
    for index, (images, labels) in enumerate(batches):
        hook = partial(after_backward, index, step.model) if after_backward is not None else None
        curve.lr.append(step.optimizer.param_groups[0]["lr"])
        result = step(images, partial(F.cross_entropy, target=labels), after_backward=hook)
        schedule.step()
        if result.grad_norm is not None:
            curve.grad_norm.append(float(result.grad_norm))
        curve.loss.append(result.loss.item())
        curve.error.append((result.logits.argmax(1) != labels).float().mean().item())
    return curve


@dataclass
class ConfigRun:
    """What :func:`train_config` measured: the steps' curve, then the test set after precise batch norm."""

    model: nn.Module  # trained, batch norm recomputed, in eval mode
    curve: Curve
    test: EvalResult
    classes: list[str]
    train_seconds: float  # the steps alone, wall time


def train_config(config: TrainConfig) -> ConfigRun:
    """``config.model`` trained on ``config.data`` for ``config.steps_per_epoch`` steps (at most one epoch), then
    ``config.precise_bn`` batches of precise batch norm and the test set; nothing is kept.

    The engine's parts for the same config (the dataset and its loaders, the model for the data, the optimizer's
    parameter groups and schedule, the precision), without what a long run needs: a run directory, checkpoints,
    its lock, resumption, several processes, EMA, mixing. compare's learns-check is this.
    """
    context = Context(device=resolve_device(config.device))
    data = load_dataset(config.data, config.data_dir, folder=folder_options(config))
    config = config.resolved(data.image_size, config.data, streamed=isinstance(data, StreamingDataset))
    torch.manual_seed(config.seed)
    model, kwargs = build_model(config, data)
    model.to(context.device)
    adapter = InputAdapter(data.channels, kwargs["in_chans"], data.mean, data.std, minimum_size(config.model, kwargs))
    adapter.to(context.device)
    workers = loader_workers(config, context)
    train_loader, test_loader = build_loaders(config, data, context, workers)
    steps = min(len(train_loader), config.steps_per_epoch or len(train_loader))
    optimizer = build_optimizer(model, config)
    amp_dtype = resolve_amp(config.amp, context.device)
    step = TrainingStep(model, optimizer, amp_dtype=amp_dtype, clip_norm=config.grad_clip)

    def ready(loader: Iterable, count: int) -> Iterator[tuple[Tensor, Tensor]]:
        for images, labels in islice(loader, count):
            yield adapter(images.to(context.device)), labels.to(context.device)

    started = time.perf_counter()
    curve = run_steps(step, build_schedule(optimizer, config, steps), ready(train_loader, steps))
    train_seconds = time.perf_counter() - started
    if config.precise_bn:  # a second loader, as the engine's: the statistics of batches the model was not fitted to
        second = data.train_loader(train_loader.batch_size, None, seed=config.seed + 1, workers=workers)
        recompute_batch_norm(model, [x for x, _ in ready(second, config.precise_bn)], amp_dtype)
    test = evaluate(model, adapter, test_loader, classes=data.classes, context=context)
    return ConfigRun(model.eval(), curve, test, list(data.classes), train_seconds)


def precise_batch_norm(model: nn.Module, images: Tensor, image_size: int = 28, batch: int = 128) -> int:
    """Precise batch norm (:func:`.batch_norm.recompute_batch_norm`) over the full batches of ``images``, resized
    and moved to the model's device; the model is left in eval mode. Returns the number of batch norm layers."""
    norms = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if norms:
        recompute_batch_norm(model, _batches(model, images, image_size, batch), None)
    model.eval()
    return norms


def _batches(model: nn.Module, images: Tensor, image_size: int, batch: int) -> Iterator[Tensor]:
    device = next(model.parameters()).device
    for start in range(0, len(images) - batch + 1, batch):
        yield resized(images[start : start + batch], image_size).to(device)


__all__ = [
    "ConfigRun",
    "Curve",
    "Data",
    "Recipe",
    "precise_batch_norm",
    "resized",
    "run_steps",
    "train",
    "train_config",
]
