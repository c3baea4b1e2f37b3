# SPDX-License-Identifier: MIT
"""The gradient-flow experiment's networks and what it measures of them: ‖∂L/∂h_l‖ at every block's output.

See :mod:`.gradients` for the experiment; the networks are the CIFAR ResNet
layout with the standard initialization for ReLU nets (Kaiming-normal fan-in).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import registry
from ..data.fashion_mnist import NUM_CLASSES
from .evaluation import on_device_of

SEEDS = (0, 1)
IMAGE_SIZE = 16  # 3.4× cheaper per step than 28 px (measured), so more epochs in the budget; the nets take 8 px up
MEASURE_BATCH = 256
VANISHED_BELOW = 1e-2  # first block's ‖∂L/∂h‖ under 1/100 of the last block's: "vanished"
# "after training" means the net has seen its training set at least once: before that (a demo's few dozen steps)
# the profile is still the initialization's, and a part about the trained net is undecided, not "did not hold"
MIN_EPOCHS_TRAINED = 1.0
HIGH_LR_FACTOR = 10  # the exploding-gradient runs: ten times the recipe's learning rate

VARIANTS = {  # label: (registered model, create_model options)
    "plain-20": ("cifar_plain20", {"norm_layer": None}),
    "plain-56": ("cifar_plain56", {"norm_layer": None}),
    "plain-56 + BN": ("cifar_plain56", {}),
    "ResNet-56": ("cifar_resnet56", {}),
}


def build(label: str) -> nn.Module:
    """The net of ``label`` with Kaiming-normal fan-in convolutions (He et al. 2015) and a LeCun-normal classifier."""
    name, options = VARIANTS[label]
    model = registry.create_model(name, num_classes=NUM_CLASSES, in_chans=1, **options)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="linear")
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def blocks(model: nn.Module) -> list[nn.Module]:
    """The stem and every block, input side first: the outputs h_l whose gradients are measured."""
    return [model.stem, *model.stage1, *model.stage2, *model.stage3]


def block_depths(model: nn.Module) -> list[int]:
    """The weighted layer each measured output comes after: 1 for the stem, then 3, 5, … (two convolutions a block)."""
    return [1 + 2 * index for index in range(len(blocks(model)))]


def block_gradient_norms(model: nn.Module, images: Tensor, labels: Tensor) -> list[float]:
    """‖∂L/∂h_l‖ at each block's output, on a float64 copy of ``model`` in training mode (the model is untouched)."""
    twin = copy.deepcopy(model).double().train()
    outputs: list[Tensor] = []
    hooks = [block.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for block in blocks(twin)]
    try:
        with torch.enable_grad():
            images, labels = on_device_of(twin, images.double(), labels)
            loss = F.cross_entropy(twin(images), labels)
            gradients = torch.autograd.grad(loss, outputs)
    finally:
        for hook in hooks:
            hook.remove()
    return [g.norm().item() for g in gradients]


def ratio(norms: list[float]) -> float:
    """The first block's gradient norm over the last block's (NaN when not finite or the last is zero)."""
    first, last = norms[0], norms[-1]
    return first / last if math.isfinite(first) and math.isfinite(last) and last > 0 else math.nan


def log_ratio(norms: list[float]) -> float:
    value = ratio(norms)
    return math.log10(value) if value > 0 else (-math.inf if value == 0 else math.nan)


def mean_tail(values: list[float], fraction: float = 0.1) -> float:
    tail = values[-max(1, int(len(values) * fraction)) :]
    return sum(tail) / len(tail)
