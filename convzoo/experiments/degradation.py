# SPDX-License-Identifier: MIT
"""Degradation: a deeper plain network trains worse; a deeper residual network does not.

The ResNet paper's Fig. 6 (He et al. 2015, arXiv:1512.03385): plain-20 … 56
against ResNet-20 … 56, trained with one recipe; the deeper plain nets have
*higher training error*, which is not overfitting, and the residual nets do
not suffer from it. What is measured is therefore the training error of the
*whole* training set, in eval mode, after equal training (not the running
error of the last batches, which mixes in the weights' drift and batch noise).

Here on the embedded Fashion-MNIST sample (5,000 images) resized to 16×16 px,
with the paper's optimizer (SGD, momentum 0.9, weight decay 1e-4, lr 0.1, batch
128), two depths (20 and 56: the ends of the paper's range, which the claim
compares) and two seeds. The smaller images make a step 2–3× cheaper than at
28 px (measured), which buys more epochs in the budget; the residual nets'
branches start at zero (the last batch norm's scale, Goyal et al. 2017,
arXiv:1706.02677 §5.1), so every residual net starts as a shallow one, the
standard recipe for short schedules. A 1001-layer pre-activation ResNet (He et
al. 2016) then shows that a very deep residual net still trains.
"""

from __future__ import annotations

import math

import torch

from ..data.fashion_mnist import NUM_CLASSES
from ..factory import create_model
from ..training.short_run import Data, train
from .lab import Lab, fashion_mnist_sample
from .scoring import accuracy, training_set_fit
from .verdicts import (
    UNDECIDED,
    Part,
    compare_seeds,
    deficit_and_noise,
    gap_text,
    loss_falls,
    no_worse,
    reached,
    separation,
)

DESCRIPTION = "plain-20/56 against ResNet-20/56 (ResNet paper Fig. 6), training-set error, 2 seeds; a 1001-layer net"
DEFAULT_BUDGET_MINUTES = 14.0
CLAIM = (
    "Deeper plain networks reach a higher training error than shallower ones (degradation); deeper residual "
    "networks do not, and a ~1000-layer residual network still trains."
)
DEPTHS = (20, 56)
SEEDS = (0, 1)
IMAGE_SIZE = 16
VERY_DEEP = "cifar_preact_resnet1001"  # 1.5 GMACs at 32 px against ResNet-1202's 2.8: more steps in the budget
# "deeper residual at least as good" is about nets that have fit their training set, not about how far a budget
# got: it is decided only when every residual run's training-set error is below TRAINED_BELOW (a state of training,
# the same on a fast and a slow CPU; stated before the runs it decides), and "as good" means within EQUIVALENCE_MARGIN
# (an equivalence test: the deeper net's error may not exceed the shallower's by more, seed spread included)
TRAINED_BELOW = 0.10
EQUIVALENCE_MARGIN = 0.01
# the very deep net's rule needs 4× its warm-up steps, so that the warm-up ends within the first quarter it compares
VERY_DEEP_QUARTERS_PAST_WARMUP = 4
MUCH_SMALLER = 0.5  # "much smaller" depth penalty: under half the plain nets' (and beyond the seed spread)
# The paper's CIFAR-10 test errors (%), Table 6, for scale (another dataset and 64k iterations).
PAPER_TEST_ERROR = {"cifar_resnet20": 8.75, "cifar_resnet56": 6.97}


def _build(name: str):
    options = {"zero_init_residual": True} if "resnet" in name else {}
    return lambda: create_model(name, num_classes=NUM_CLASSES, in_chans=1, **options)


def _subset(data: Data, limit: int) -> Data:
    return Data(data.train_images[:limit], data.train_labels[:limit], data.test_images, data.test_labels, data.classes)


# ---- measure ------------------------------------------------------------------------------------------------


def measure(lab: Lab) -> dict:
    data = fashion_mnist_sample()
    names = [f"cifar_{kind}{depth}" for kind in ("plain", "resnet") for depth in DEPTHS]
    recipe = lab.recipe(steps=1, batch_size=8 if lab.quick else 128, image_size=IMAGE_SIZE)
    fit = _subset(data, 200 if lab.quick else (1000 if lab.budget_minutes < 5 else len(data.train_labels)))
    # the evaluations after training, timed on the deepest net; × 1.3 for the 1,000 test images
    reserve = lab.reserve(lambda: training_set_fit(_build(names[-1])(), fit, IMAGE_SIZE), len(names) * len(SEEDS) * 1.3)
    recipe.steps = lab.steps(
        [_build(n) for n in names],
        data,
        recipe,
        share=0.75,
        quick_steps=3,
        maximum=6000,
        runs_each=len(SEEDS),
        reserve_seconds=reserve,
    )
    runs = []
    for name in names:
        kind, depth = ("plain", name.removeprefix("cifar_plain")) if "plain" in name else ("resnet", name[12:])
        for seed in SEEDS:
            torch.manual_seed(seed)
            model = _build(name)()
            curve = train(model, data, recipe, seed=seed)
            runs.append(
                {
                    "name": name,
                    "kind": kind,
                    "depth": int(depth),
                    "seed": seed,
                    "training_set": training_set_fit(model, fit, IMAGE_SIZE),
                    "error_curve": curve.smoothed_error(),
                    "test_error": 1 - _test_accuracy(model, lab, data),
                }
            )

    very_deep_name = "cifar_resnet44" if lab.quick else VERY_DEEP  # --quick checks the structure only
    deep = lab.recipe(steps=1, batch_size=8 if lab.quick else 16, warmup_steps=5, lr=0.05, image_size=IMAGE_SIZE)
    deep.steps = lab.steps([_build(very_deep_name)], data, deep, share=0.97, quick_steps=3, maximum=400)
    torch.manual_seed(0)
    curve = train(_build(very_deep_name)(), data, deep, seed=0)
    return {
        "dataset": "fashion-mnist-mini",
        "image_size": IMAGE_SIZE,
        "training_images": len(data.train_labels),
        "fit_images": len(fit.train_labels),
        "step_seconds": lab.step_seconds,
        "seeds": list(SEEDS),
        "depths": list(DEPTHS),
        "recipe": recipe.__dict__,
        "epochs": recipe.steps * recipe.batch_size / len(data.train_labels),
        "runs": runs,
        "very_deep": {
            "model": very_deep_name,
            "recipe": deep.__dict__,
            "loss_curve": curve.loss,
            "epochs": deep.steps * deep.batch_size / len(data.train_labels),
        },
    }


def _test_accuracy(model, lab: Lab, data: Data) -> float:

    return accuracy(model, *lab.test_split(data), image_size=IMAGE_SIZE)


# ---- judge --------------------------------------------------------------------------------------------------


def _errors(data: dict, kind: str, depth: int) -> list[float]:
    runs = sorted((r for r in data["runs"] if r["kind"] == kind and r["depth"] == depth), key=lambda r: r["seed"])
    return [r["training_set"]["error"] for r in runs]


def _pct(values: list[float]) -> str:
    return "[" + ", ".join(f"{100 * v:.1f}%" for v in values) + "]"


def judge(data: dict) -> list[Part]:
    """The claim in parts, from ``measure``'s data alone (pure)."""
    shallow, deep = min(data["depths"]), max(data["depths"])
    plain_s, plain_d = _errors(data, "plain", shallow), _errors(data, "plain", deep)
    res_s, res_d = _errors(data, "resnet", shallow), _errors(data, "resnet", deep)
    parts = [
        Part(
            "deeper plain trains worse",
            f"plain-{deep}'s training-set error is higher than plain-{shallow}'s",
            compare_seeds(plain_s, plain_d, better="lower"),
            f"plain-{shallow} {_pct(plain_s)}, plain-{deep} {_pct(plain_d)}; "
            + gap_text(separation(plain_s, plain_d), ".1f", 100)
            + " pt",
            separation(plain_s, plain_d),
        )
    ]

    plain_penalty = [d - s for s, d in zip(plain_s, plain_d, strict=True)]  # paired by seed
    res_penalty = [d - s for s, d in zip(res_s, res_d, strict=True)]
    mean_plain = sum(plain_penalty) / len(plain_penalty) if plain_penalty else math.nan
    evidence = (
        f"{shallow}→{deep} layers, per seed: plain {_pct(plain_penalty)}, residual {_pct(res_penalty)}; "
        + gap_text(separation(res_penalty, plain_penalty), ".1f", 100)
        + f" pt and {MUCH_SMALLER:.0%} of the mean plain rise, {100 * MUCH_SMALLER * mean_plain:.1f} pt"
    )
    if not mean_plain > 0:
        verdict, evidence = UNDECIDED, evidence + " (the plain nets show no penalty to compare with)"
    else:
        verdict = compare_seeds(res_penalty, plain_penalty, better="lower", margin=MUCH_SMALLER * mean_plain)
    parts.append(
        Part(
            "residual depth penalty much smaller",
            f"the residual nets' error rise from {shallow} to {deep} layers is "
            f"below the plain nets' by more than the seed spread and by at least {MUCH_SMALLER:.0%} of the plain rise",
            verdict,
            evidence,
            separation(res_penalty, plain_penalty),
        )
    )

    fitted = [1 - v for v in res_s + res_d]  # training-set accuracy of every residual run
    reason = reached(fitted, minimum=1 - TRAINED_BELOW, what="residual nets' training-set accuracy")
    numbers = deficit_and_noise(res_d, res_s, better="lower")
    evidence = (
        f"ResNet-{shallow} {_pct(res_s)}, ResNet-{deep} {_pct(res_d)}; ResNet-{deep} behind by "
        f"{100 * numbers['deficit'] + 0.0:.2f} pt (negative: ahead), seed spread {100 * numbers['noise']:.2f} pt, "
        f"margin {100 * EQUIVALENCE_MARGIN:g} pt"
    )
    verdict = no_worse(res_d, res_s, tolerance=EQUIVALENCE_MARGIN, better="lower")
    if reason:
        verdict, evidence = UNDECIDED, f"{reason}; {evidence}"
    parts.append(
        Part(
            "deeper residual at least as good",
            f"ResNet-{deep}'s training-set error exceeds ResNet-{shallow}'s by at most {100 * EQUIVALENCE_MARGIN:g} "
            f"pt, seed spread included (decided once every residual run's training-set error is below "
            f"{TRAINED_BELOW:.0%})",
            verdict,
            evidence,
            {**numbers, "epochs": data["epochs"], "margin": EQUIVALENCE_MARGIN},
        )
    )

    losses = data["very_deep"]["loss_curve"]
    quarter = max(1, len(losses) // 4)
    first, last = sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter
    # the quarters compare the start with the end of training, so the warm-up must end within the first quarter:
    # with fewer steps the "end" is the loss spike at the peak learning rate, not where training went
    needed = VERY_DEEP_QUARTERS_PAST_WARMUP * data["very_deep"]["recipe"]["warmup_steps"]
    evidence = (
        f"loss {first:.3f} → {last:.3f} over {len(losses)} steps (one seed: a claim that it trains, not a comparison)"
    )
    verdict = loss_falls(first, last, drop=0.05)
    if len(losses) < needed and math.isfinite(last):
        verdict, evidence = UNDECIDED, f"too few steps to judge: {len(losses)}, the rule needs {needed}; " + evidence
    parts.append(
        Part(
            "~1000 layers train",
            f"{data['very_deep']['model']}'s training loss falls (mean of the last quarter of at least {needed} "
            "steps < 0.95 × the first quarter's) and stays finite",
            verdict,
            evidence,
            {"first_quarter_loss": first, "last_quarter_loss": last, "steps": len(losses)},
        )
    )
    return parts


# ---- render -------------------------------------------------------------------------------------------------


def render(lab: Lab, data: dict, parts: list[Part]) -> None:
    recipe, very_deep = data["recipe"], data["very_deep"]

    def draw(plt):
        for run in data["runs"]:
            color = f"C{data['depths'].index(run['depth'])}"
            style = "--" if run["kind"] == "plain" else "-"
            label = f"{run['kind']}-{run['depth']}" if run["seed"] == data["seeds"][0] else None
            plt.plot(
                [100 * e for e in run["error_curve"]],
                style,
                color=color,
                label=label,
                linewidth=1,
                alpha=1.0 if run["seed"] == data["seeds"][0] else 0.5,
            )
        plt.xlabel("step")
        plt.ylabel("training error of the batches (%), 20-step running mean")
        plt.title("Plain (dashed) against residual (solid) nets, one recipe, two seeds")
        highest = max((100 * e for run in data["runs"] for e in run["error_curve"]), default=60)
        plt.ylim(0, min(100, max(60, highest + 5)))  # a short run starts near 90%: the whole curve stays in view
        plt.legend()

    def draw_deep(plt):
        plt.plot(very_deep["loss_curve"], linewidth=0.8)
        plt.xlabel("step")
        plt.ylabel("training loss")
        plt.title(
            f"{very_deep['model']}: {very_deep['recipe']['steps']} steps, batch {very_deep['recipe']['batch_size']}"
        )

    plots = [lab.plot("training_error.png", draw), lab.plot("very_deep_loss.png", draw_deep)]
    rows = "".join(
        f"| {run['name']} | {run['seed']} | {run['training_set']['error']:.1%} | {run['training_set']['loss']:.3f} | "
        f"{run['test_error']:.1%} | {PAPER_TEST_ERROR.get(run['name'], '-')} |\n"
        for run in data["runs"]
    )
    body = (
        f"Data: the embedded Fashion-MNIST sample, {data['training_images']:,} training images resized to "
        f"{data['image_size']}×{data['image_size']} px. Recipe for all four nets: SGD (Nesterov, momentum 0.9, weight "
        f"decay 1e-4), lr {recipe['lr']:g} with {recipe['warmup_steps']} warm-up steps and cosine decay, batch "
        f"{recipe['batch_size']}, {recipe['steps']} steps = {data['epochs']:.2f} epochs; seeds {data['seeds']} (each "
        "draws the weights and the batches). Residual branches start at zero (Goyal et al. 2017); plain nets keep "
        f"He init. Training-set error and loss: the first {data['fit_images']:,} training images in eval mode after "
        "training (batch norm statistics re-estimated on 2,000 of them first: precise BN, Wu & Johnson 2021). Steps "
        "are planned from one timed step of each net and the timed cost of the evaluations (`step_seconds` in "
        f'results.json), so the run fits its budget; "deeper residual at least as good" is decided once every '
        f"residual run's training-set error is below {TRAINED_BELOW:.0%}, with a {100 * EQUIVALENCE_MARGIN:g} pt "
        "equivalence margin. Rules: a comparison holds when every seed of one arm beats every seed of the other "
        "by more than the "
        "larger seed spread (`convzoo/experiments/verdicts.py`).\n\n![training error](training_error.png)\n\n"
        "| network | seed | training-set error | training-set loss | test error (1,000 images) | paper, CIFAR-10 "
        "test error (%) |\n|---|---|---|---|---|---|\n"
        + rows
        + "\nThe paper's numbers are CIFAR-10 after 64k iterations; they are there for scale, not comparison.\n\n"
        f"{very_deep['model']}: {very_deep['recipe']['steps']} steps at batch {very_deep['recipe']['batch_size']} "
        f"({very_deep['epochs']:.2f} epochs), lr {very_deep['recipe']['lr']:g}, seed 0; the last convolution of each "
        "residual branch starts at zero (see `cifar_resnet`'s docstring).\n\n![very deep net's "
        "loss](very_deep_loss.png)\n"
    )
    lab.record({**data, "plots": plots}, body, claim=CLAIM, parts=parts)


def run(lab: Lab) -> None:
    data = measure(lab)
    render(lab, data, judge(data))
