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

import functools
import math
import time
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..analysis import profile
from ..data.fashion_mnist import NUM_CLASSES
from ..layers import ClassifierHead, ConvNormAct
from ..models.cifar_resnet import CifarBasicBlock
from . import heldout
from .lab import Lab, Recipe, fashion_mnist_sample, planned_steps, seconds_per_step, train
from .scaling_judge import CLAIM, judge, render

DESCRIPTION = (
    "width, depth, resolution, compound scaling of a 14-px net to its MACs at 28 px (3.6×), 3 seeds; α,β,γ grid"
)
DEFAULT_BUDGET_MINUTES = 14.0
BASE_BLOCKS, BASE_SIZE, SOURCE_SIZE = 3, 14, 28
BASE_CHANNELS = (8, 16, 32)
GRID_TARGET = 2.0  # the grid search's φ ≈ 1
TOLERANCE = 0.10  # every arm within ±10% of its MAC target
PAPER_TRIPLE = (1.2, 1.1, 1.15)
SEEDS = (0, 1, 2)
TRAIN_IMAGES = 4000
GRID_BUDGET_MINUTES = 60.0  # the grid search runs only with a budget of at least this


class ScalableNet(nn.Module):
    """A 3×3 stem and three stages of ``blocks`` basic residual blocks at ``channels``; global pool, linear.

    The base is ``ScalableNet((8, 16, 32), 3)``; width w builds ``channels(w)``, depth d ``blocks(d)``.
    """

    def __init__(self, stage_channels: Sequence[int], stage_blocks: int, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvNormAct(1, stage_channels[0], 3)]
        in_channels = stage_channels[0]
        for index, out_channels in enumerate(stage_channels):
            for block in range(stage_blocks):
                stride = 2 if index > 0 and block == 0 else 1
                layers.append(CifarBasicBlock(in_channels, out_channels, stride, shortcut="B"))
                in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.head = ClassifierHead(in_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def channels(width: float) -> list[int]:
    return [max(4, round(c * width)) for c in BASE_CHANNELS]


def blocks(depth: float) -> int:
    return max(1, round(BASE_BLOCKS * depth))


@functools.cache
def macs(stage_channels: tuple[int, ...], stage_blocks: int, size: int) -> int:
    return profile(ScalableNet(stage_channels, stage_blocks), (1, size, size)).total_macs


def point(width: float = 1.0, depth: float = 1.0, resolution: float = 1.0) -> dict:
    """What a (width, depth, resolution) multiplier builds: channels, blocks per stage, layers, input size, MACs."""
    size = round(BASE_SIZE * resolution)
    return {
        "width": width,
        "depth": depth,
        "resolution": resolution,
        "size": size,
        "channels": channels(width),
        "blocks": blocks(depth),
        "layers": 2 + 6 * blocks(depth),
        "macs": macs(tuple(channels(width)), blocks(depth), size),
    }


def _off(p: dict, target: float) -> float:
    return abs(math.log(p["macs"] / target))


def closest(make, target: float, low: float, high: float, steps: int = 10) -> dict:
    """The point ``make(m)`` with MACs closest to ``target``, by bisection on ``m`` (MACs grow with ``m``)."""
    best = make(low)
    for _ in range(steps):
        middle = (low + high) / 2
        candidate = make(middle)
        best = candidate if _off(candidate, target) < _off(best, target) else best
        low, high = (middle, high) if candidate["macs"] < target else (low, middle)
    return best


def _ascending(points, target: float) -> dict:
    """The point closest to ``target`` of points whose MACs grow: stops at the first one past the target."""
    best = None
    for p in points:
        best = p if best is None or _off(p, target) < _off(best, target) else best
        if p["macs"] >= target:
            break
    return best


def matched(dimension: str, target: float, steps: int = 10) -> dict:
    """One dimension scaled until the network's MACs are closest to ``target`` (depth: whole blocks; size: pixels,
    up to the 28-px source)."""
    if dimension == "depth":
        return _ascending((point(depth=n / BASE_BLOCKS) for n in range(BASE_BLOCKS, 8 * BASE_BLOCKS)), target)
    if dimension == "resolution":
        return _ascending((point(resolution=s / BASE_SIZE) for s in range(BASE_SIZE, SOURCE_SIZE + 1)), target)
    return closest(lambda m: point(width=m), target, 1.0, 4.0, steps)


def compound(triple: tuple[float, float, float], target: float, low: float = 0.0, high: float = 3.0) -> dict:
    """Compound scaling with φ set by the MACs budget, as the paper sets it by FLOPs (2^φ before rounding)."""
    alpha, beta, gamma = triple

    def make(phi: float) -> dict:
        return {**point(width=beta**phi, depth=alpha**phi, resolution=gamma**phi), "phi": phi}

    return {**closest(make, target, low, high), "alpha": alpha, "beta": beta, "gamma": gamma}


def grid() -> list[tuple[float, float, float]]:
    """(α, β, γ) with α·β²·γ² = 2 (γ solved from α and β), all ≥ 1; (1.2, 1.1, 1.174) is the paper's neighbour."""
    triples = []
    for alpha in (1.0, 1.2, 1.4, 1.7, 2.0):
        for beta in (1.0, 1.1, 1.2, 1.3):
            gamma = math.sqrt(2 / (alpha * beta**2))
            if 1.0 <= gamma <= 1.42:
                triples.append((alpha, beta, round(gamma, 3)))
    return triples


def mac_target() -> float:
    """The scaled arms' MACs in units of the base's: the base at the native 28 px (3.64×, about 4×)."""
    return point(resolution=SOURCE_SIZE / BASE_SIZE)["macs"] / point()["macs"]


def arms() -> dict[str, dict]:
    """The base and the four scaled arms, each checked to be within ±10% of its MAC target."""
    base, target = point(), mac_target()
    built = {"base": {**base, "target": 1.0}}
    for dimension in ("width", "depth", "resolution"):
        built[dimension] = {**matched(dimension, target * base["macs"]), "target": target}
    built["compound"] = {**compound(PAPER_TRIPLE, target * base["macs"]), "target": target}
    for name, p in built.items():
        if abs(p["macs"] / (p["target"] * base["macs"]) - 1) > TOLERANCE:
            raise RuntimeError(f"scaling arm {name} built {p['macs']:,} MACs, off its target by more than ±10%: {p}")
    return built


# ---- measure ------------------------------------------------------------------------------------------------


def _run_arm(p: dict, data, recipe: Recipe, evaluation) -> dict:
    sized = Recipe(**{**recipe.__dict__, "image_size": p["size"]})
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
            Recipe(**{**recipe.__dict__, "image_size": p["size"]}),
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
    grid_recipe = Recipe(**recipe.__dict__)
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
    recipe = Recipe(steps=1, lr=0.05, weight_decay=5e-4, batch_size=8 if lab.quick else 128)
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
