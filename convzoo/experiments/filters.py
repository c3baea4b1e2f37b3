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

from .. import registry
from ..data.fashion_mnist import NUM_CLASSES
from ..training.step import TrainingStep
from .evaluation import accuracy
from .lab import Lab, fashion_mnist_sample, train

DESCRIPTION = "a 3×3 convolution fitted to Sobel and blur converges to them; a trained net's first-layer filters"
DEFAULT_BUDGET_MINUTES = 3.0
CLAIM = "A convolution is a filter whose weights can be learned: gradient descent recovers a hand-designed filter."

TARGETS = {
    "sobel_x": torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    "blur_3x3": torch.full((3, 3), 1.0 / 9),
}


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
    for name, (_, errors) in fits.items():
        plt.semilogy(range(len(errors)), errors, label=name)
    plt.xlabel("gradient step")
    plt.ylabel("‖learned − filter‖ / ‖filter‖")
    plt.title("A 3×3 convolution learns a hand-designed filter")
    plt.legend()


def _draw_kernels(plt, fits: dict) -> None:
    for row, (name, (learned, _)) in enumerate(fits.items()):
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


def run(lab: Lab) -> None:
    data = fashion_mnist_sample()
    images = data.train_images[:64] if lab.quick else data.train_images[:256]
    fit_steps = 100 if lab.quick else 1500
    fits = {name: fit_kernel(images, target, fit_steps) for name, target in TARGETS.items()}

    def build():
        return registry.create_model("cifar_resnet20", num_classes=NUM_CLASSES, in_chans=1)

    recipe = lab.recipe(steps=1, batch_size=16 if lab.quick else 128)
    recipe.steps = lab.steps([build], data, recipe, share=0.8, quick_steps=5, maximum=3000)
    model = build()
    before = model.stem[0].weight.detach().clone()
    train(model, data, recipe)
    after = model.stem[0].weight.detach().clone()
    test_accuracy = accuracy(model, *lab.test_split(data))

    plots = [
        lab.plot("kernel_error.png", partial(_draw_errors, fits=fits)),
        lab.plot("kernels.png", partial(_draw_kernels, fits=fits), size=(5, 5)),
        lab.plot("first_layer_filters.png", partial(_draw_first_layer, before=before, after=after), size=(10, 1.8)),
    ]
    final = {name: errors[-1] for name, (_, errors) in fits.items()}
    change = ((after - before).norm() / before.norm()).item()
    results = {
        "fit_steps": fit_steps,
        "final_relative_kernel_error": final,
        "initial_relative_kernel_error": {name: errors[0] for name, (_, errors) in fits.items()},
        "learned_kernels": {name: learned.tolist() for name, (learned, _) in fits.items()},
        "network": "cifar_resnet20",
        "train_steps": recipe.steps,
        "test_accuracy": test_accuracy,
        "first_layer_relative_change": change,
        "plots": plots,
    }
    held = None if lab.quick else all(error < 1e-2 for error in final.values())
    verdict = (
        f"After {fit_steps} steps the learned kernels are within "
        + ", ".join(f"{error:.1e} ({name})" for name, error in final.items())
        + f" of the filters, relative. cifar_resnet20 trained {recipe.steps} steps reached {test_accuracy:.1%} test "
        f"accuracy; its first-layer filters moved {change:.0%} (relative norm) from their random start."
    )
    body = (
        "![kernel error](kernel_error.png)\n\n![filters and learned kernels](kernels.png)\n\n"
        "| filter | final relative error |\n|---|---|\n"
        + "".join(f"| {name} | {error:.2e} |\n" for name, error in final.items())
        + "\nFirst-layer filters of cifar_resnet20, before and after training on the Fashion-MNIST sample:\n\n"
        "![first-layer filters](first_layer_filters.png)\n"
    )
    lab.record(results, body, claim=CLAIM, held=held, verdict=verdict)
