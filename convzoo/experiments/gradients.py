# SPDX-License-Identifier: MIT
"""Vanishing gradients, and the lecture's remedies: batch norm, skip connections; gradient clipping for exploding ones.

What is measured is the *back-propagated* gradient: the norm ‖∂L/∂h_l‖ of the
loss's gradient with respect to each block's output h_l (the stem's output and
every two-convolution block's, input side first), the quantity whose shrinking
towards the input "vanishing gradients" names. It is computed for one fixed
batch of 256 training images on a float64 copy of the model (``model.double()``),
so nothing underflows, through forward hooks and ``torch.autograd.grad`` on the
retained block outputs; in training mode, as in a training step (batch norm
uses the batch's statistics). It is taken at initialization and after training.

Networks (the CIFAR ResNet layout: 3×3 convolutions, three stages, He et al.
2015, arXiv:1512.03385), every convolution initialized with the standard
initialization for ReLU nets, Kaiming-normal fan-in (He et al. 2015,
arXiv:1502.01852: variance 2/fan_in), the classifier with LeCun-normal
(variance 1/fan_in), biases zero:

- plain-20 and plain-56 without batch norm: the two depths of the claim;
- plain-56 with batch norm (remedy 1); ResNet-56, skips and batch norm (remedy 2).

Each is trained with one recipe and two seeds (the seed draws the weights and
the batches). Gradient clipping (Pascanu et al. 2013, arXiv:1211.5063) is a
remedy for *exploding* gradients, not vanishing ones — it rescales all gradients
by one factor and cannot make the first layer's larger relative to the last's —
so it is shown where it applies: plain-20 without batch norm trained at ten
times the recipe's learning rate, without clipping and with clipping at the
median global gradient norm of the same net's normal-rate runs (Pascanu et al.'s
§3.2 heuristic: the threshold is the norm seen in ordinary training). The
setups were chosen from the claim and the literature before any run; see the
report for what each part decides and how.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

import torch
from torch import Tensor

from .evaluation import training_set_fit
from .gradient_flow import (
    HIGH_LR_FACTOR,
    IMAGE_SIZE,
    MEASURE_BATCH,
    SEEDS,
    VANISHED_BELOW,
    VARIANTS,
    block_depths,
    block_gradient_norms,
    blocks,
    build,
    log_ratio,
    ratio,
)
from .gradients_judge import CLAIM, judge, render
from .lab import Data, Lab, Recipe, fashion_mnist_sample, resized, train

DESCRIPTION = "‖∂L/∂h‖ per block of plain-20/56 (no BN), plain-56+BN, ResNet-56; clipping against a too-high lr"
DEFAULT_BUDGET_MINUTES = 14.0


# ---- measure ------------------------------------------------------------------------------------------------


def measure_run(
    label: str, data: Data, recipe: Recipe, seed: int, probe: tuple[Tensor, Tensor], fit_limit: int
) -> dict:
    torch.manual_seed(seed)
    model = build(label)
    at_init = block_gradient_norms(model, *probe)
    curve = train(model, data, recipe, seed=seed)
    subset = _subset(data, fit_limit)
    return {
        "label": label,
        "seed": seed,
        "depths": block_depths(model),
        "gradient_norms": {"initialization": at_init, "after training": block_gradient_norms(model, *probe)},
        "loss_curve": curve.loss,
        "grad_norm_curve": curve.grad_norm,
        "training_set": training_set_fit(model, subset, recipe.image_size),
    }


def _subset(data: Data, limit: int) -> Data:
    return Data(data.train_images[:limit], data.train_labels[:limit], data.test_images, data.test_labels, data.classes)


def measure(lab: Lab) -> dict:
    data = fashion_mnist_sample()
    recipe = lab.recipe(
        steps=1, lr=0.05, batch_size=8 if lab.quick else 64, image_size=IMAGE_SIZE, track_grad_norm=True
    )
    small = lab.budget_minutes < 5  # a short run (``convzoo demo``): measure on fewer images, leave time to train
    count = 16 if lab.quick else (64 if small else MEASURE_BATCH)
    probe = (resized(data.train_images[:count], IMAGE_SIZE), data.train_labels[:count])
    fit_limit = 200 if lab.quick else (1000 if small else len(data.train_labels))

    def measure_deepest_once() -> None:  # what the measurements after training cost, on the deepest net
        block_gradient_norms(build("plain-56 + BN"), *probe)
        training_set_fit(build("plain-56 + BN"), _subset(data, fit_limit), IMAGE_SIZE)

    reserve = lab.reserve(measure_deepest_once, times=2 * len(VARIANTS) * len(SEEDS))  # 2 gradient measures + 1 fit
    builders = [lambda label=label: build(label) for label in VARIANTS] + [lambda: build("plain-20")] * 2
    recipe.steps = lab.steps(
        builders, data, recipe, share=0.9, quick_steps=3, maximum=3000, runs_each=len(SEEDS), reserve_seconds=reserve
    )
    runs = [measure_run(label, data, recipe, seed, probe, fit_limit) for label in VARIANTS for seed in SEEDS]

    # exploding gradients: plain-20 at ten times the learning rate, without and with clipping at the median norm
    # of its normal-rate runs (Pascanu et al. 2013, §3.2)
    normal_norms = [n for run in runs if run["label"] == "plain-20" for n in run["grad_norm_curve"]]
    threshold = statistics.median(n for n in normal_norms if math.isfinite(n))
    high = replace(recipe, lr=recipe.lr * HIGH_LR_FACTOR)
    exploding = []
    for clip in (None, threshold):
        for seed in SEEDS:
            torch.manual_seed(seed)
            model = build("plain-20")
            curve = train(model, data, replace(high, clip_norm=clip), seed=seed)
            fired = [n / clip for n in curve.grad_norm if clip is not None and not n <= clip]
            exploding.append(
                {
                    "seed": seed,
                    "clip_norm": clip,
                    "lr": high.lr,
                    "loss_curve": curve.loss,
                    "grad_norm_curve": curve.grad_norm,
                    "clipped_steps": len(fired),
                    "clip_ratio_median": statistics.median(fired) if fired else None,
                    "clip_ratio_max": max(fired) if fired else None,
                    "training_set": training_set_fit(model, _subset(data, fit_limit), recipe.image_size),
                }
            )
    return {
        "dataset": "fashion-mnist-mini",
        "image_size": IMAGE_SIZE,
        "training_images": len(data.train_labels),
        "measured_batch": count,
        "fit_images": fit_limit,
        "seeds": list(SEEDS),
        "recipe": recipe.__dict__,
        "epochs": recipe.steps * recipe.batch_size / len(data.train_labels),
        "runs": runs,
        "clip_threshold": threshold,
        "exploding": exploding,
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
    "DESCRIPTION",
    "HIGH_LR_FACTOR",
    "IMAGE_SIZE",
    "MEASURE_BATCH",
    "SEEDS",
    "VANISHED_BELOW",
    "VARIANTS",
    "block_depths",
    "block_gradient_norms",
    "blocks",
    "build",
    "judge",
    "log_ratio",
    "measure",
    "measure_run",
    "ratio",
    "render",
    "run",
]
