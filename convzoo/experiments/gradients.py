# SPDX-License-Identifier: MIT
"""Vanishing gradients, and the lecture's remedies: He initialization, batch norm, skip connections; clipping.

What is measured is the *back-propagated* gradient: the norm ‖∂L/∂h_l‖ of the
loss's gradient with respect to each block's output h_l (the stem's output and
every two-convolution block's, input side first), the quantity whose shrinking
towards the input "vanishing gradients" names. It is computed for one fixed
batch of training images on a float64 copy of the model (``model.double()``),
so nothing underflows, through forward hooks and ``torch.autograd.grad`` on the
retained block outputs; in training mode, as in a training step (batch norm
uses the batch's statistics).

Networks (the CIFAR ResNet layout: 3×3 convolutions, three stages, He et al.
2015, arXiv:1512.03385): plain-20 and plain-56 without batch norm, plain-56
with batch norm, ResNet-56 (skips and batch norm).

1. *The claim, at initialization, as deep nets were built before the remedies*:
   every net with PyTorch's default initialization (``reset_parameters``), no
   training. Deep plain nets lose the gradient towards the input, the deeper
   the more (Glorot & Bengio 2010 measured it under the initializations of their
   day); batch norm and skip connections, on the same initialization, carry it.
2. *He initialization* (Kaiming-normal fan-in, He et al. 2015,
   arXiv:1502.01852, derived to keep the back-propagated signal's scale from
   layer to layer) is the first remedy: plain-56 with it, at initialization.
3. *Training*: the four nets with He init, one recipe, two seeds (the seed draws
   the weights and the batches), at a learning rate at which plain-20 without
   batch norm trains (:data:`LR`, chosen on pilot seeds that the experiment does
   not use). Reported per net: the training-set loss and error, the gradient
   profile after training and the fraction of dead ReLU channels. A run whose
   loss is not finite or stuck at the constant-output loss ln 10 did not train,
   and ranks below every run that did.
4. *Exploding gradients and clipping* (Pascanu et al. 2013, arXiv:1211.5063):
   plain-20 at ten times the learning rate, without clipping, with clipping at
   the :data:`CLIP_PERCENTILE` th percentile of the global gradient norms of the
   healthy normal-rate plain-20 runs (a norm ordinary training reaches, so that
   clipping acts on the spikes), and a control without clipping at the clipped
   run's mean effective learning rate (lr × min(1, threshold ÷ norm), averaged
   over its steps): if the control trains too, a smaller step, not clipping,
   is what tamed the run.

The setups were chosen from the claim and the literature before the runs they
decide; see the report for each part's rule.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

import torch
from torch import Tensor

from ..training.short_run import Data, Recipe, resized, train
from .gradient_flow import (
    CLIP_PERCENTILE,
    DEFAULT_INIT,
    HE_INIT,
    HIGH_LR_FACTOR,
    IMAGE_SIZE,
    LR,
    MEASURE_BATCH,
    SEEDS,
    VANISHED_BELOW,
    VARIANTS,
    block_depths,
    block_gradient_norms,
    blocks,
    build,
    dead_fraction,
    log_ratio,
    ratio,
)
from .gradients_judge import CLAIM, judge, render, trained
from .lab import Lab, fashion_mnist_sample
from .scoring import training_set_fit

DESCRIPTION = (
    "‖∂L/∂h‖ per block of plain-20/56, plain-56+BN, ResNet-56 at PyTorch's default init and He init, "
    "after training; clipping against a too-high lr"
)
DEFAULT_BUDGET_MINUTES = 14.0
WARMUP_STEPS = 20


# ---- measure ------------------------------------------------------------------------------------------------


def measure_run(
    label: str, data: Data, recipe: Recipe, seed: int, probe: tuple[Tensor, Tensor], fit_limit: int
) -> dict:
    """One He-init net trained with ``recipe``: its gradient profile before and after, its fit and dead units."""
    torch.manual_seed(seed)
    model = build(label, HE_INIT)
    at_init = block_gradient_norms(model, *probe)
    curve = train(model, data, recipe, seed=seed)
    return {
        "label": label,
        "seed": seed,
        "init": HE_INIT,
        "depths": block_depths(model),
        "gradient_norms": {"initialization": at_init, "after training": block_gradient_norms(model, *probe)},
        "dead_fraction": dead_fraction(model, probe[0]),
        "loss_curve": curve.loss,
        "grad_norm_curve": curve.grad_norm,
        "training_set": training_set_fit(model, _subset(data, fit_limit), recipe.image_size),
    }


def measure_at_init(label: str, init: str, seed: int, probe: tuple[Tensor, Tensor]) -> dict:
    """One untrained net's gradient profile and dead units, as ``init`` leaves it."""
    torch.manual_seed(seed)
    model = build(label, init)
    return {
        "label": label,
        "seed": seed,
        "init": init,
        "depths": block_depths(model),
        "gradient_norms": block_gradient_norms(model, *probe),
        "dead_fraction": dead_fraction(model, probe[0]),
    }


def _subset(data: Data, limit: int) -> Data:
    return Data(data.train_images[:limit], data.train_labels[:limit], data.test_images, data.test_labels, data.classes)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of the finite ``values``, linearly interpolated; NaN when there are none."""
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return math.nan
    position = (len(finite) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(finite) - 1)
    return finite[low] + (finite[high] - finite[low]) * (position - low)


def clipping_run(data: Data, recipe: Recipe, seed: int, clip: float | None, fit_limit: int) -> dict:
    """plain-20 (He init) trained with ``recipe`` (the high learning rate) and clipping at ``clip`` (None: none)."""
    torch.manual_seed(seed)
    model = build("plain-20", HE_INIT)
    curve = train(model, data, replace(recipe, clip_norm=clip), seed=seed)
    fired = [n / clip for n in curve.grad_norm if clip is not None and not n <= clip]
    factors = [min(1.0, clip / n) if n > 0 else 1.0 for n in curve.grad_norm] if clip is not None else []
    # the clipped run's mean step, lr_t × factor_t, over the mean learning rate: the constant scale a run without
    # clipping, on the same schedule, needs for the same mean step
    weighted = sum(lr * f for lr, f in zip(curve.lr, factors, strict=True)) / sum(curve.lr) if factors else None
    return {
        "seed": seed,
        "clip_norm": clip,
        "lr": recipe.lr,
        "loss_curve": curve.loss,
        "grad_norm_curve": curve.grad_norm,
        "lr_curve": curve.lr,
        "clipped_steps": len(fired),
        "clip_ratio_median": statistics.median(fired) if fired else None,
        "clip_ratio_max": max(fired) if fired else None,
        "mean_step_factor": weighted if weighted is not None and math.isfinite(weighted) else None,
        "training_set": training_set_fit(model, _subset(data, fit_limit), recipe.image_size),
    }


def warmup_steps(steps: int) -> int:
    """The linear warm-up: 20 steps, or a tenth of a shorter run's (a demo's few dozen steps would otherwise end
    before the learning rate reached its peak)."""
    return max(1, min(WARMUP_STEPS, steps // 10))


def measure(lab: Lab) -> dict:
    data = fashion_mnist_sample()
    recipe = lab.recipe(steps=1, lr=LR, batch_size=8 if lab.quick else 64, image_size=IMAGE_SIZE, track_grad_norm=True)
    small = lab.budget_minutes < 5  # a short run (``convzoo demo``): measure on fewer images, leave time to train
    count = 16 if lab.quick else (32 if small else MEASURE_BATCH)
    probe = (resized(data.train_images[:count], IMAGE_SIZE), data.train_labels[:count])
    fit_limit = 200 if lab.quick else (500 if small else len(data.train_labels))

    # 1. the claim as the nets come out of the constructor: no training, so it is decided whatever the budget
    at_init = [measure_at_init(label, DEFAULT_INIT, seed, probe) for label in VARIANTS for seed in SEEDS]

    def measure_deepest_once() -> None:  # what the measurements after training cost, on the deepest net
        block_gradient_norms(build("plain-56 + BN"), *probe)
        training_set_fit(build("plain-56 + BN"), _subset(data, fit_limit), IMAGE_SIZE)

    reserve = lab.reserve(measure_deepest_once, times=2 * len(VARIANTS) * len(SEEDS))  # 2 gradient measures + 1 fit
    builders = [lambda label=label: build(label) for label in VARIANTS] + [lambda: build("plain-20")] * 3
    recipe.steps = lab.steps(
        builders, data, recipe, share=0.9, quick_steps=3, maximum=3000, runs_each=len(SEEDS), reserve_seconds=reserve
    )
    recipe.warmup_steps = warmup_steps(recipe.steps)
    # 2–3. He init at initialization (each run's first profile) and the four nets trained
    runs = [measure_run(label, data, recipe, seed, probe, fit_limit) for label in VARIANTS for seed in SEEDS]

    # 4. exploding gradients: plain-20 at ten times the learning rate; clipped at a high percentile of the norms of
    # the normal-rate runs that trained; and a control at the clipped run's mean step, without clipping
    healthy = [
        run for run in runs if run["label"] == "plain-20" and (lab.quick or trained(run["training_set"]["loss"]))
    ]
    # (--quick checks the structure only: its 3 steps train nothing, so every plain-20 run stands in as healthy)
    threshold = percentile([n for run in healthy for n in run["grad_norm_curve"]], CLIP_PERCENTILE)
    high = replace(recipe, lr=recipe.lr * HIGH_LR_FACTOR)
    exploding = [clipping_run(data, high, seed, None, fit_limit) for seed in SEEDS]
    controls = []
    if math.isfinite(threshold):  # no healthy run, no threshold: the clipping parts say so
        for seed in SEEDS:
            clipped = clipping_run(data, high, seed, threshold, fit_limit)
            exploding.append(clipped)
            if clipped["mean_step_factor"] is not None:
                control = clipping_run(
                    data, replace(high, lr=high.lr * clipped["mean_step_factor"]), seed, None, fit_limit
                )
                controls.append({**control, "control_of_seed": seed})
    return {
        "dataset": "fashion-mnist-mini",
        "image_size": IMAGE_SIZE,
        "training_images": len(data.train_labels),
        "measured_batch": count,
        "fit_images": fit_limit,
        "seeds": list(SEEDS),
        "recipe": recipe.__dict__,
        "epochs": recipe.steps * recipe.batch_size / len(data.train_labels),
        "at_init": at_init,
        "runs": runs,
        "healthy_runs": len(healthy),
        "clip_percentile": CLIP_PERCENTILE,
        "clip_threshold": threshold,
        "exploding": exploding,
        "controls": controls,
        "high_lr": high.lr,
        "step_seconds": lab.step_seconds,
        "reserved_seconds": reserve,
    }


def run(lab: Lab) -> None:
    data = measure(lab)
    render(lab, data, judge(data))


__all__ = [
    "CLAIM",
    "DEFAULT_BUDGET_MINUTES",
    "DEFAULT_INIT",
    "DESCRIPTION",
    "HE_INIT",
    "HIGH_LR_FACTOR",
    "IMAGE_SIZE",
    "LR",
    "MEASURE_BATCH",
    "SEEDS",
    "VANISHED_BELOW",
    "VARIANTS",
    "block_depths",
    "block_gradient_norms",
    "blocks",
    "build",
    "clipping_run",
    "dead_fraction",
    "judge",
    "log_ratio",
    "measure",
    "measure_at_init",
    "measure_run",
    "percentile",
    "ratio",
    "render",
    "run",
]
