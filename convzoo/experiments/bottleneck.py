# SPDX-License-Identifier: MIT
"""What 1×1 reductions and global average pooling buy: the cost, accuracy parity, and overfitting of a large head.

GoogLeNet (Szegedy et al. 2014, arXiv:1409.4842) puts a 1×1 convolution before
each 3×3 and 5×5 branch of its inception module to cut their input channels
(Fig. 2b against the naive Fig. 2a), and ends with global average pooling (GAP)
instead of AlexNet's and VGG's large fully-connected heads; Lin et al. 2013
(Network in Network, arXiv:1312.4400, §3.2 and §4.6) introduced GAP as a
structural regularizer that prevents the overfitting of fully-connected heads.

One small network: a stem of two stride-2 3×3 convolutions (28×28 grey → 192
channels at 7×7), one inception module with the paper's 3a channels (taken
from ``convzoo.models.googlenet.INCEPTION_3["a"]``), a head. The module runs at
7×7 rather than GoogLeNet's 28×28 to make steps cheap: the cost ratios of the
module do not depend on the map size.

Two setups, each with three seeds (the seed draws the weights and the batches), five parts in all:

- **cost and parity**: naive module against module with reductions, both with
  a GAP head. MACs and parameters from the cost model (exact); the training
  step time measured on every run (the arms' runs alternate, so a machine that
  slows down for a while slows both); test accuracy, with parity meaning a loss
  of at most one point (the criterion this experiment used before, stated
  before any run). The nets train on 4,000 images and are scored on the other
  1,000 training and the 1,000 test images, so that the standard error of the
  accuracy difference is near the size of the tolerance.
- **the head**: module with reductions and a GAP head against the same with a
  VGG-style fully-connected head (flatten the 7×7 map, a 256-unit hidden layer:
  3.2M parameters, 12× the rest of the network), in a regime where overfitting
  can happen: 500 training images (small enough that both heads fit them
  completely in the budget: seed 0 of each reached 100% training accuracy after
  250 steps of batch 64, 32 epochs, in a trial run), trained to at least 98%
  training accuracy (a run that does not reach it leaves the part undecided),
  scored on the other 5,500 images. Neither head has dropout (dropout
  suppresses exactly the overfitting the claim is about; NIN §4.6 compares GAP
  with an FC head without and with dropout); both get the same weight decay.

measure → judge → render: :func:`measure` returns plain data,
:mod:`.bottleneck_judge` decides the parts (pure, unit-tested on synthetic
data) and renders the report.
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch
from torch import Tensor, nn

from ..analysis import profile
from ..data.fashion_mnist import NUM_CLASSES
from ..layers import ConvNormAct
from ..models.googlenet import INCEPTION_3, Inception
from ..training.short_run import Recipe, train
from . import heldout
from .bottleneck_judge import CLAIM, MIN_TRAIN_ACCURACY, cost_parts, judge, render, render_cost
from .lab import Lab, fashion_mnist_sample, planned_steps, seconds_per_step
from .verdicts import Part

DESCRIPTION = "inception 3a with and without 1×1 reductions (cost, parity); GAP against an FC head when overfitting"
DEFAULT_BUDGET_MINUTES = 14.0
CONFIG_3A = INCEPTION_3["a"]  # Table 1, inception (3a)
SEEDS = (0, 1, 2)
MAP_SIZE = 7  # the module's input: 28 px through two stride-2 convolutions
PARITY_TRAIN, HEAD_TRAIN = 4000, 500  # training images of each part; the rest of the sample scores them
ARMS = {
    "naive module + GAP": ("naive", "GAP"),
    "1×1 reductions + GAP": ("reduced", "GAP"),
    "1×1 reductions + FC head": ("reduced", "FC"),
}
PARITY_ARMS, HEAD_ARMS = (
    ("naive module + GAP", "1×1 reductions + GAP"),
    ("1×1 reductions + GAP", "1×1 reductions + FC head"),
)
FC_HIDDEN = 256
FIT_IMAGES = 1000  # training accuracy on (at most) this many training images: all 500 of the head part's


class NaiveInception(nn.Module):
    """Fig. 2a: 1×1, 3×3 and 5×5 convolutions straight on the input, and its 3×3 max pool, concatenated."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int) -> None:
        super().__init__()
        self.branch1 = ConvNormAct(in_channels, ch1x1, 1)
        self.branch2 = ConvNormAct(in_channels, ch3x3, 3)
        self.branch3 = ConvNormAct(in_channels, ch5x5, 5)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def inception_module(kind: str) -> nn.Module:
    """GoogLeNet's 3a module as the paper builds it (``reduced``) or without its 1×1 reductions (``naive``)."""
    c = CONFIG_3A
    if kind == "naive":
        return NaiveInception(c.in_channels, c.ch1x1, c.ch3x3, c.ch5x5)
    return Inception(*c, paper_5x5=True)


def head(kind: str, channels: int) -> nn.Sequential:
    """GAP: average the map, one linear layer. FC: flatten the 7×7 map, a hidden layer, the classifier (no dropout)."""
    if kind == "GAP":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, NUM_CLASSES))
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(channels * MAP_SIZE**2, FC_HIDDEN),
        nn.ReLU(inplace=True),
        nn.Linear(FC_HIDDEN, NUM_CLASSES),
    )


def build(module: str, head_kind: str) -> nn.Module:
    stem = [ConvNormAct(1, 64, 3, stride=2), ConvNormAct(64, CONFIG_3A.in_channels, 3, stride=2)]  # (N, 192, 7, 7)
    block = inception_module(module)
    return nn.Sequential(*stem, block, head(head_kind, block.out_channels))


def costs(label: str) -> dict:
    module, head_kind = ARMS[label]
    whole = profile(build(module, head_kind), (1, 28, 28))
    block = profile(inception_module(module), (CONFIG_3A.in_channels, MAP_SIZE, MAP_SIZE))
    head_params = sum(p.numel() for p in head(head_kind, inception_module(module).out_channels).parameters())
    return {
        "params": whole.total_params,
        "macs": whole.total_macs,
        "module_params": block.total_params,
        "module_macs": block.total_macs,
        "head_params": head_params,
    }


# ---- measure ------------------------------------------------------------------------------------------------


def _train_arms(lab: Lab, labels: tuple[str, ...], data, recipe: Recipe, evaluation) -> tuple[dict, float]:
    """Train every arm with every seed; per arm the accuracies, step times and per-image hits (seed counts).

    Seeds outside, arms inside: the arms' runs alternate, so a machine that slows down for a while (another
    process) slows both arms' step times alike rather than one arm's.
    """
    runs: dict[str, dict[str, list]] = {label: {"train": [], "test": [], "seconds": [], "hits": []} for label in labels}
    for seed in SEEDS:
        for label in labels:
            torch.manual_seed(seed)
            model = build(*ARMS[label])
            started = time.perf_counter()
            train(model, data, recipe, seed=seed)
            runs[label]["seconds"].append((time.perf_counter() - started) / recipe.steps)
            fit, accuracy, hit = heldout.score(model, data, *evaluation, image_size=28, fit_images=FIT_IMAGES)
            for key, value in (("train", fit), ("test", accuracy), ("hits", hit)):
                runs[label][key].append(value)
    arms = {
        label: {
            "train_accuracy": run["train"],
            "test_accuracy": run["test"],
            "step_seconds": run["seconds"],
            "correct_per_image": heldout.seed_counts(run["hits"]),
        }
        for label, run in runs.items()
    }
    return arms, recipe.steps * recipe.batch_size / len(data.train_labels)


def _plan(lab: Lab, labels, data, recipe: Recipe, evaluation, *, share: float, maximum: int) -> int:
    """Steps per run from one timed step of each arm and the timed cost of scoring one run (kept for the record)."""
    if lab.quick:
        return 2
    timings = [seconds_per_step(lambda label=label: build(*ARMS[label]), data, recipe) for label in labels]
    scoring = lab.reserve(
        lambda: heldout.score(build(*ARMS[labels[0]]), data, *evaluation, image_size=28, fit_images=FIT_IMAGES),
        times=len(labels) * len(SEEDS),
    )
    lab.step_seconds.append(
        {
            "batch_size": recipe.batch_size,
            "arms": list(labels),
            "runs_each": len(SEEDS),
            "seconds": [round(t, 4) for t in timings],
            "scoring_seconds": round(scoring, 1),
        }
    )
    left = lab.budget_seconds * share - lab.elapsed() - scoring
    return planned_steps(left, sum(timings) * len(SEEDS), 10, maximum)


def _setup() -> dict:
    """What every bottleneck record opens with: the data, the module's configuration and every arm's cost."""
    return {
        "dataset": "fashion-mnist-mini",
        "image_size": 28,
        "map_size": MAP_SIZE,
        "seeds": list(SEEDS),
        "inception_3a": CONFIG_3A._asdict(),
        "cost": {label: costs(label) for label in ARMS},
    }


def measure(lab: Lab) -> dict:
    sample = fashion_mnist_sample()
    limit = 200 if lab.quick else None  # --quick: the structure only
    parity_data, *parity_eval = heldout.split(sample, 200 if lab.quick else PARITY_TRAIN, limit)
    head_data, *head_eval = heldout.split(sample, 100 if lab.quick else HEAD_TRAIN, limit)
    parity = lab.recipe(steps=1, lr=0.05, weight_decay=5e-4, batch_size=8 if lab.quick else 128)
    parity.steps = _plan(lab, PARITY_ARMS, parity_data, parity, parity_eval, share=0.45, maximum=3000)
    parity_arms, parity_epochs = _train_arms(lab, PARITY_ARMS, parity_data, parity, parity_eval)
    head_recipe = lab.recipe(steps=1, lr=0.05, weight_decay=5e-4, batch_size=8 if lab.quick else 64)
    head_recipe.steps = _plan(lab, HEAD_ARMS, head_data, head_recipe, head_eval, share=0.93, maximum=4000)
    head_arms, head_epochs = _train_arms(lab, HEAD_ARMS, head_data, head_recipe, head_eval)
    return {
        **_setup(),
        "parity": {
            "training_images": len(parity_data.train_labels),
            "evaluation_images": len(parity_eval[1]),
            "recipe": parity.__dict__,
            "epochs": parity_epochs,
            "arms": parity_arms,
        },
        "head": {
            "training_images": len(head_data.train_labels),
            "evaluation_images": len(head_eval[1]),
            "recipe": head_recipe.__dict__,
            "epochs": head_epochs,
            "arms": head_arms,
            "min_train_accuracy": MIN_TRAIN_ACCURACY,
        },
        "step_seconds": lab.step_seconds,
    }


def run(lab: Lab) -> None:
    data = measure(lab)
    render(lab, data, judge(data))


TIMED_STEPS = 4  # per seed and arm in ``--scope cost``, after one warm-up step


def measure_cost(lab: Lab) -> dict:
    """The cost model's figures of every arm, and the parity arms' training step time (no accuracy: no training)."""
    data = fashion_mnist_sample()
    recipe = lab.recipe(
        steps=1 if lab.quick else TIMED_STEPS, lr=0.05, weight_decay=5e-4, batch_size=8 if lab.quick else 128
    )
    timing: dict[str, list[float]] = {label: [] for label in PARITY_ARMS}  # naive first, as the full run draws them
    for seed in SEEDS:
        for label in PARITY_ARMS:  # the arms alternate within each seed
            torch.manual_seed(seed)
            model = build(*ARMS[label])
            train(model, data, replace(recipe, steps=1), seed=seed)  # one-time set-up (kernels, allocation)
            started = time.perf_counter()
            train(model, data, recipe, seed=seed)
            timing[label].append((time.perf_counter() - started) / recipe.steps)
    return {
        **_setup(),
        "batch_size": recipe.batch_size,
        "timed_steps": recipe.steps,
        "step_seconds": timing,
    }


def judge_cost(data: dict) -> list[Part]:
    timing = data["step_seconds"]
    return cost_parts(data["cost"], timing["1×1 reductions + GAP"], timing["naive module + GAP"])


def run_cost(lab: Lab) -> None:
    """``--scope cost``: the parts that need no training, in seconds (the demo runs this one)."""
    data = measure_cost(lab)
    render_cost(lab, data, judge_cost(data))


SCOPES = {"cost": run_cost}  # ``convzoo experiment bottleneck --scope cost``
JUDGES = {"cost": judge_cost}  # each scope's judge, for re-judging its stored results


__all__ = [
    "CLAIM",
    "DEFAULT_BUDGET_MINUTES",
    "DESCRIPTION",
    "SCOPES",
    "build",
    "judge",
    "judge_cost",
    "measure",
    "measure_cost",
    "render",
    "run",
    "run_cost",
]
