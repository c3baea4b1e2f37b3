# SPDX-License-Identifier: MIT
"""Compound scaling against scaling one dimension, at matched multiply-adds (EfficientNet Fig. 3, Table 7), as a test.

Tan & Le 2019 (arXiv:1905.11946) scale a base network by depth d = α^φ, width
w = β^φ and resolution r = γ^φ together, with α·β²·γ² ≈ 2 so that each unit of
φ doubles the FLOPs, and report that this beats scaling any one dimension to
the same FLOPs: Table 7 (B0 scaled to ~1.8 GFLOPs, ImageNet top-1) has depth
79.0%, width 78.9%, resolution 79.1%, compound 81.1%, a margin of about two
points. At small scale and short training the answer may differ: Bello et al.
2021 (arXiv:2103.07579) find that the best scaling depends on the regime, width
being preferable when training is short and overfitting unlikely. This
experiment reports what the numbers say, without tuning towards either.

Setup, and why:

- Base: a residual network of basic blocks, 8/16/32 channels, **3 blocks per
  stage** (so that the paper's α = 1.2 changes the depth: round(3·1.2) = 4,
  where 2 blocks would stay 2), at **14×14 px**, the 28-px Fashion-MNIST images
  downsampled (antialiased). Every resolution up to 28 px is then a real image
  with more detail, not an upsampled one, as larger ImageNet crops are.
- Arms: the base; width only, depth only, resolution only and compound (the
  paper's (α, β, γ) = (1.2, 1.1, 1.15), φ set by the budget), each scaled to the
  MACs of the base at the native **28 px** (2× the resolution: 3.64× the base's
  MACs rather than 4×, as the third stage's map rounds up from 3.5 to 4 px at
  14 px; Table 7 scales B0 4.6×). So the resolution arm is exactly the native
  images, and the other arms match its cost. The cost model picks each
  multiplier; every arm is built and must land within ±10% of the target
  (checked: the run stops otherwise), and the report shows the depth, width,
  resolution and MACs each arm built.
- Recipe: the one this experiment used before (SGD, Nesterov momentum 0.9, lr
  0.05, weight decay 5e-4, batch 128, warm-up and cosine decay), the same for
  every arm; the steps are planned from each arm's measured step time to fill
  the budget, so a run on a slower CPU trains fewer epochs and says so. The
  base is small (8/16/32 channels) so that 15 runs get several epochs each.
- Three seeds per arm (the seed draws the weights and the batches); every arm
  trains on 4,000 images with one recipe and is scored on the other 1,000
  training images and the 1,000 test images (2,000), so that the standard
  error of a difference is about half a point (see :mod:`.heldout`).
- Step 1 of the method, the (α, β, γ) grid search at φ ≈ 1 (α·β²·γ² = 2, φ
  adjusted so that each triple lands within ±10% of 2× the base's MACs), runs
  with the same three seeds, and only under ``--budget`` of at least
  ``GRID_BUDGET_MINUTES``: at the default budget its ~12 triples × 3 seeds would
  leave too few steps for the comparison the claim is about. Its table shows
  what each triple built; it is reported, not judged.

measure → judge → render: :func:`measure` returns plain data;
:mod:`.scaling_judge` decides the parts (pure) and renders the report.
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch

from ..training.short_run import Recipe, train
from . import heldout
from .lab import Lab, fashion_mnist_sample, planned_steps, seconds_per_step
from .scaling_arms import (
    BASE_BLOCKS,
    BASE_CHANNELS,
    BASE_SIZE,
    GRID_TARGET,
    PAPER_TRIPLE,
    SOURCE_SIZE,
    TOLERANCE,
    ScalableNet,
    arms,
    compound,
    grid,
)
from .scaling_judge import CLAIM, judge, render

DESCRIPTION = (
    "width, depth, resolution, compound scaling of a 14-px net to its MACs at 28 px (3.6×), 3 seeds; α,β,γ grid"
)
DEFAULT_BUDGET_MINUTES = 14.0
SEEDS = (0, 1, 2)
TRAIN_IMAGES = 4000
GRID_BUDGET_MINUTES = 60.0  # the grid search runs only with a budget of at least this


def _run_arm(p: dict, data, recipe: Recipe, evaluation) -> dict:
    sized = replace(recipe, image_size=p["size"])
    fits, accuracy, hits, seconds = [], [], [], []
    for seed in SEEDS:
        torch.manual_seed(seed)
        model = ScalableNet(p["channels"], p["blocks"])
        started = time.perf_counter()
        train(model, data, sized, seed=seed)
        seconds.append((time.perf_counter() - started) / sized.steps)
        fit, acc, hit = heldout.score(model, data, *evaluation, image_size=p["size"], fit_images=1000)
        fits.append(fit)
        accuracy.append(acc)
        hits.append(hit)
    return {
        **p,
        "train_accuracy": fits,
        "accuracy": accuracy,
        "step_seconds": seconds,
        "correct_per_image": heldout.seed_counts(hits),
    }


def _plan(lab: Lab, points: list[dict], data, recipe: Recipe, *, share: float) -> int:
    if lab.quick:
        return 2
    timings = [
        seconds_per_step(
            lambda p=p: ScalableNet(p["channels"], p["blocks"]),
            data,
            replace(recipe, image_size=p["size"]),
        )
        for p in points
    ]
    lab.step_seconds.append(
        {
            "batch_size": recipe.batch_size,
            "image_sizes": [p["size"] for p in points],
            "seconds": [round(t, 4) for t in timings],
            "runs_each": len(SEEDS),
        }
    )
    left = (lab.budget_seconds * share - lab.elapsed()) * 0.95  # 5% for scoring (2,000 images, forward only)
    return planned_steps(left, sum(timings) * len(SEEDS), 10, 3000)


def _net(p: dict) -> tuple:
    return p["blocks"], tuple(p["channels"]), p["size"]


def measure_grid(
    lab: Lab, triples: list[tuple[float, float, float]], base_macs: int, data, recipe: Recipe, evaluation
) -> dict:
    """Step 1 of the method: each triple at φ ≈ 1 (matched to 2× the base's MACs), its seeds; what each built.

    A triple off its target by more than ±10% is listed, not trained; triples that build the same net (depth,
    channels and input size) train once and share the result.
    """
    points = [{**compound(t, GRID_TARGET * base_macs, 0.5, 1.5), "target": GRID_TARGET} for t in triples]
    on_target = [p for p in points if abs(p["macs"] / (GRID_TARGET * base_macs) - 1) <= TOLERANCE]
    unique = {_net(p): p for p in reversed(on_target)}  # the first triple of each net is the one trained
    grid_recipe = replace(recipe)
    grid_recipe.steps = _plan(lab, list(unique.values()), data, recipe, share=0.93)
    trained = {net: _run_arm(p, data, grid_recipe, evaluation) for net, p in unique.items()}
    return {
        "target": GRID_TARGET,
        "recipe": grid_recipe.__dict__,
        "epochs": grid_recipe.steps * grid_recipe.batch_size / len(data.train_labels),
        "triples": [{**trained[_net(p)], **p} if p in on_target else {**p, "off_target": True} for p in points],
    }


def measure(lab: Lab) -> dict:
    sample = fashion_mnist_sample()
    data, *evaluation = heldout.split(sample, 200 if lab.quick else TRAIN_IMAGES, 200 if lab.quick else None)
    run_grid = lab.quick or lab.budget_minutes >= GRID_BUDGET_MINUTES  # --quick: one triple, the structure only
    built = arms()
    recipe = lab.recipe(steps=1, lr=0.05, weight_decay=5e-4, batch_size=8 if lab.quick else 128)
    recipe.steps = _plan(lab, list(built.values()), data, recipe, share=0.5 if run_grid else 0.93)
    results = [{"kind": name, **_run_arm(p, data, recipe, evaluation)} for name, p in built.items()]
    triples = (grid()[:1] if lab.quick else grid()) if run_grid else []
    grid_data = measure_grid(lab, triples, built["base"]["macs"], data, recipe, evaluation) if triples else None
    return {
        "dataset": "fashion-mnist-mini",
        "source_size": SOURCE_SIZE,
        "base_size": BASE_SIZE,
        "base_blocks": BASE_BLOCKS,
        "base_channels": list(BASE_CHANNELS),
        "target": built["compound"]["target"],
        "tolerance": TOLERANCE,
        "paper_triple": list(PAPER_TRIPLE),
        "seeds": list(SEEDS),
        "training_images": len(data.train_labels),
        "evaluation_images": len(evaluation[1]),
        "recipe": recipe.__dict__,
        "epochs": recipe.steps * recipe.batch_size / len(data.train_labels),
        "arms": results,
        "grid": grid_data,
        "grid_budget_minutes": GRID_BUDGET_MINUTES,
        "step_seconds": lab.step_seconds,
    }


def run(lab: Lab) -> None:
    data = measure(lab)
    render(lab, data, judge(data))


__all__ = ["CLAIM", "DEFAULT_BUDGET_MINUTES", "DESCRIPTION", "ScalableNet", "arms", "judge", "measure", "run"]
