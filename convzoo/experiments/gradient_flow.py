# SPDX-License-Identifier: MIT
"""The gradient-flow experiment's networks and what it measures of them: ‖∂L/∂h_l‖ at every block's output.

See :mod:`.gradients` for the experiment. The networks are the CIFAR ResNet layout, built with one of two
initializations (:data:`INITS`): PyTorch's default for ``Conv2d``/``Linear`` (``reset_parameters``:
Kaiming-uniform with a = √5, weight variance 1/(3·fan_in), the scale that lets a deep ReLU net's signal shrink
layer by layer), or He et al.'s Kaiming-normal fan-in (variance 2/fan_in), derived so that it does not.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.fashion_mnist import NUM_CLASSES
from ..factory import create_model
from .scoring import on_device_of

SEEDS = (0, 1)
DEFAULT_INIT, HE_INIT = "PyTorch default init", "He init"
INITS = (DEFAULT_INIT, HE_INIT)
IMAGE_SIZE = 16  # 3.4× cheaper per step than 28 px (measured), so more epochs in the budget; the nets take 8 px up
MEASURE_BATCH = 256
VANISHED_BELOW = 1e-2  # first block's ‖∂L/∂h‖ under 1/100 of the last block's: "vanished"
# "after training" means the net has seen its training set at least once: before that (a demo's few dozen steps)
# the profile is still the initialization's, and a part about the trained net is undecided, not "did not hold"
MIN_EPOCHS_TRAINED = 1.0
# the trained nets' learning rate: one at which plain-20 without batch norm (He init) trains. At 0.05 it died (loss
# stuck at ln 10) on 4 of 4 pilot seeds (10–13, which the experiment does not use; 300 steps of batch 64, 16 px).
LR = 0.02  # 4 of 4 pilot runs trained at 0.02 (benchmarks/gradients_lr_pilot.py); 3 of 4 at 0.01
HIGH_LR_FACTOR = 10  # the exploding-gradient runs: ten times the recipe's learning rate
# the clipping threshold: this percentile of the global gradient norms of the healthy normal-rate runs (Pascanu et
# al. 2013, §3.2: clip at a norm seen in ordinary training), high so that clipping acts on spikes, not every step
CLIP_PERCENTILE = 90

VARIANTS = {  # label: (registered model, create_model options)
    "plain-20": ("cifar_plain20", {"norm_layer": None}),
    "plain-56": ("cifar_plain56", {"norm_layer": None}),
    "plain-56 + BN": ("cifar_plain56", {}),
    "ResNet-56": ("cifar_resnet56", {}),
}


def build(label: str, init: str = HE_INIT) -> nn.Module:
    """The net of ``label``, initialized by ``init`` (one of :data:`INITS`).

    He init: Kaiming-normal fan-in convolutions (He et al. 2015, arXiv:1502.01852), a LeCun-normal classifier,
    zero biases. PyTorch's default: every ``Conv2d`` and ``Linear`` reset with its own ``reset_parameters``, as a
    net is built before anyone chooses an initialization. Batch norm starts at (1, 0) in both.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    name, options = VARIANTS[label]
    model = create_model(name, num_classes=NUM_CLASSES, in_chans=1, **options)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)) and init == DEFAULT_INIT:
                module.reset_parameters()
            elif isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="linear")
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None and init == HE_INIT:
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


@torch.no_grad()
def dead_fraction(model: nn.Module, images: Tensor) -> float:
    """The fraction of ReLU channels that output exactly 0 at every position of every image (dead units).

    Counted over every ``nn.ReLU`` of the net, in eval mode, on ``images``: a channel that no image turns on passes
    no gradient back and, without batch norm to shift it, stays off. NaN when the output is not finite.
    """
    dead, total = 0, 0
    finite = True

    def count(_module, _inputs, output: Tensor) -> None:
        nonlocal dead, total, finite
        finite = finite and bool(torch.isfinite(output).all())
        dead += int((output.amax(dim=(0, 2, 3)) <= 0).sum()) if output.ndim == 4 else 0
        total += output.shape[1] if output.ndim == 4 else 0

    was_training = model.training
    model.eval()
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        model(*on_device_of(model, images))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return dead / total if total and finite else math.nan


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
