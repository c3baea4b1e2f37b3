# SPDX-License-Identifier: MIT
"""Convolution is a filter that can be learned.

A 3×3 convolution is a hand-designed image filter (Sobel edges, a box blur)
whose nine weights are free. Fit one 3×3 convolution by gradient descent to the
output of the hand-designed filter on real images: the learned kernel converges
to the filter (the problem is least squares, so it should, up to the data's
conditioning). Then train a real network on the images and look at what its
first layer's 16 filters became, next to their random start.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..bench.timing import time_interleaved
from ..data.fashion_mnist import NUM_CLASSES
from ..factory import create_model
from ..plotting import log_scale
from ..training.short_run import train
from ..training.step import TrainingStep
from .lab import Lab, fashion_mnist_sample
from .scoring import accuracy

DESCRIPTION = "a 3×3 convolution fitted to Sobel and blur converges to them; a trained net's first-layer filters"
DEFAULT_BUDGET_MINUTES = 3.0
CLAIM = "A convolution is a filter whose weights can be learned: gradient descent recovers a hand-designed filter."

TARGETS = {
    "sobel_x": torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    "blur_3x3": torch.full((3, 3), 1.0 / 9),
}
SEEDS = (0, 1)  # random starts of each kernel fit: the claim is that *a* start converges, so every one must
# training images the kernels are fitted on: 64 × 28 × 28 equations for 9 unknowns, over-determined many times
# over; a step on 64 images is 2.6× cheaper than on 256 (3.4 against 9 ms on a 2-core AVX2 EPYC), so a short budget
# still affords a converged fit
KERNEL_IMAGES = 64
FIT_STEPS = 1500  # per fit; fewer only when half the budget cannot pay for them (then at least MIN_FIT_STEPS)
MIN_FIT_STEPS = 300
HELD_BELOW = 1e-2  # relative error every fit must reach


def fit_kernel(images: torch.Tensor, target: torch.Tensor, steps: int, seed: int = 0) -> tuple[torch.Tensor, list]:
    """Gradient descent (Adam, lr 0.05) on the mean squared difference to the target filter's output."""
    wanted = F.conv2d(images, target.view(1, 1, 3, 3), padding=1)
    # one learnable 3x3 filter from a seeded random start (skip_init: the global random stream stays untouched)
    conv = nn.utils.skip_init(nn.Conv2d, 1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(seed)) * 0.5)
    step = TrainingStep(conv, torch.optim.Adam(conv.parameters(), lr=0.05))

    def error() -> float:
        return ((conv.weight.detach()[0, 0] - target).norm() / target.norm()).item()

    errors = [error()]  # at the random start
    for _ in range(steps):
        step(images, partial(F.mse_loss, target=wanted))
        errors.append(error())
    return conv.weight.detach()[0, 0], errors


# The plots of run(): each draws on matplotlib's pyplot from the numbers run measured.
def _draw_errors(plt, fits: dict) -> None:
    for index, (name, runs) in enumerate(fits.items()):
        for seed, (_, errors) in zip(SEEDS, runs, strict=True):
            label = f"{name}, start {seed}"
            plt.plot(
                range(len(errors)), errors, color=f"C{index}", linestyle="-" if seed == SEEDS[0] else ":", label=label
            )
    log_scale(plt.gca(), "y")
    plt.xlabel("gradient step")
    plt.ylabel("‖learned − filter‖ / ‖filter‖")
    plt.title("A 3×3 convolution learns a hand-designed filter")
    plt.legend()


def _draw_kernels(plt, fits: dict) -> None:
    for row, (name, runs) in enumerate(fits.items()):
        learned = runs[0][0]  # the first start's; every start's final error is in the report
        for col, (title, kernel) in enumerate((("filter", TARGETS[name]), ("learned", learned))):
            axis = plt.subplot(2, 2, 2 * row + col + 1)
            axis.imshow(kernel.numpy(), cmap="RdBu_r", vmin=-2, vmax=2)
            axis.set_title(f"{name}: {title}", fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])


def _draw_first_layer(plt, before: torch.Tensor, after: torch.Tensor) -> None:
    for row, (title, weights) in enumerate((("initial", before), ("trained", after))):
        for index in range(16):
            axis = plt.subplot(2, 16, row * 16 + index + 1)
            kernel = weights[index, 0]
            axis.imshow(kernel.numpy(), cmap="gray", vmin=-kernel.abs().max(), vmax=kernel.abs().max())
            axis.set_xticks([])
            axis.set_yticks([])
            if index == 0:
                axis.set_ylabel(title, fontsize=8)


def planned_fit_steps(lab: Lab, images: torch.Tensor) -> int:
    """:data:`FIT_STEPS` per fit, or as many as half the budget pays for (a demo's half minute on a slow CPU), timed
    on 50 steps of one fit; at least :data:`MIN_FIT_STEPS`."""
    fit = partial(fit_kernel, images, TARGETS["blur_3x3"], 50)
    per_step = time_interleaved({"fit": fit}, warmup=0, repeats=1)["fit"].median / 50
    fits = len(TARGETS) * len(SEEDS)
    return max(MIN_FIT_STEPS, min(FIT_STEPS, int(0.5 * lab.budget_seconds / (fits * per_step))))


def run(lab: Lab) -> None:
    data = fashion_mnist_sample()
    images = data.train_images[:KERNEL_IMAGES]
    fit_steps = 100 if lab.quick else planned_fit_steps(lab, images)
    fits = {name: [fit_kernel(images, target, fit_steps, seed) for seed in SEEDS] for name, target in TARGETS.items()}

    def build():
        return create_model("cifar_resnet20", num_classes=NUM_CLASSES, in_chans=1)

    recipe = lab.recipe(steps=1, batch_size=16 if lab.quick else 128)
    recipe.steps = lab.steps([build], data, recipe, share=0.8, quick_steps=5, maximum=3000)
    torch.manual_seed(0)  # the network's weights; the batches are drawn from seed 0 too
    model = build()
    before = model.stem[0].weight.detach().clone()
    train(model, data, recipe)
    after = model.stem[0].weight.detach().float().cpu().contiguous()
    test_accuracy = accuracy(model, *lab.test_split(data))

    plots = [
        lab.plot("kernel_error.png", partial(_draw_errors, fits=fits)),
        lab.plot("kernels.png", partial(_draw_kernels, fits=fits), size=(5, 5)),
        lab.plot("first_layer_filters.png", partial(_draw_first_layer, before=before, after=after), size=(10, 1.8)),
    ]
    per_start = {name: [errors[-1] for _, errors in runs] for name, runs in fits.items()}
    final = {name: max(errors) for name, errors in per_start.items()}  # the worst start
    change = ((after - before).norm() / before.norm()).item()
    epochs = recipe.steps * recipe.batch_size / len(data.train_labels)
    results = {
        "fit_steps": fit_steps,
        "seeds": list(SEEDS),
        "kernel_images": len(images),
        "final_relative_kernel_error": final,
        "final_relative_kernel_error_per_start": per_start,
        "initial_relative_kernel_error": {name: min(errors[0] for _, errors in runs) for name, runs in fits.items()},
        "learned_kernels": {name: runs[0][0].tolist() for name, runs in fits.items()},
        "network": "cifar_resnet20",
        "training_images": len(data.train_labels),
        "recipe": recipe.__dict__,
        "epochs": epochs,
        "train_steps": recipe.steps,
        "test_accuracy": test_accuracy,
        "first_layer_relative_change": change,
        "plots": plots,
    }
    converged = all(error < HELD_BELOW for error in final.values())
    # a fit cut short by the budget that has not converged yet shows too little, not a failure of gradient descent
    held = None if lab.quick or (not converged and fit_steps < FIT_STEPS) else converged
    verdict = (
        f"After {fit_steps} steps from each of {len(SEEDS)} random starts the learned kernels are within "
        + ", ".join(f"{error:.1e} ({name})" for name, error in final.items())
        + f" of the filters, relative (the worst start; held below {HELD_BELOW:g}). cifar_resnet20 trained "
        f"{recipe.steps} steps reached {test_accuracy:.1%} test "
        f"accuracy; its first-layer filters moved {change:.0%} (relative norm) from their random start."
    )
    body = (
        f"Data: the embedded Fashion-MNIST sample, 28×28 px grey. Kernel fits: one 3×3 convolution (no bias) "
        f"fitted by Adam (lr 0.05) for {fit_steps} full-batch steps to the filter's output on the first "
        f"{len(images)} training images, from random starts {list(SEEDS)} (normal, std 0.5). Network: "
        f"cifar_resnet20 on all {len(data.train_labels):,} training images, batch {recipe.batch_size}, lr "
        f"{recipe.lr:g} with warm-up and cosine decay, {recipe.steps} steps = {epochs:.1f} epochs, seed 0 (a "
        "picture of what a first layer learns, not a comparison); test accuracy on "
        f"{len(lab.test_split(data)[1]):,} test images.\n\n"
        "![kernel error](kernel_error.png)\n\n![filters and learned kernels](kernels.png)\n\n"
        "| filter | final relative error, per start |\n|---|---|\n"
        + "".join(f"| {name} | {' / '.join(f'{e:.2e}' for e in errors)} |\n" for name, errors in per_start.items())
        + "\nFirst-layer filters of cifar_resnet20, before and after training on the Fashion-MNIST sample:\n\n"
        "![first-layer filters](first_layer_filters.png)\n"
    )
    lab.record(results, body, claim=CLAIM, held=held, verdict=verdict)
