# SPDX-License-Identifier: MIT
"""The scaling experiment's network family and its arms at matched multiply-adds (see :mod:`.scaling`).

A CIFAR-style ResNet of three stages (``BASE_CHANNELS``, ``BASE_BLOCKS`` basic blocks each) at ``BASE_SIZE`` px,
scaled in width (channels), depth (blocks per stage) and resolution (input side). :func:`arms` builds each
one-dimension arm and the compound arm (``PAPER_TRIPLE``, EfficientNet's α, β, γ) to the MACs of the base at
``SOURCE_SIZE`` px and refuses an arm more than ``TOLERANCE`` off its target; the MACs are the cost model's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from torch import Tensor, nn

from ..analysis import profile
from ..data.fashion_mnist import NUM_CLASSES
from ..layers import ClassifierHead, ConvNormAct
from ..models.cifar_resnet import CifarBasicBlock

BASE_BLOCKS, BASE_SIZE, SOURCE_SIZE = 3, 14, 28
BASE_CHANNELS = (8, 16, 32)
GRID_TARGET = 2.0  # the grid search's φ ≈ 1
TOLERANCE = 0.10  # every arm within ±10% of its MAC target
PAPER_TRIPLE = (1.2, 1.1, 1.15)


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
