# SPDX-License-Identifier: MIT
"""EfficientNet B0–B7 and compound scaling (Tan & Le 2019), arXiv:1905.11946.

"EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks".
B0 is a searched stack of MBConv blocks (inverted residuals with
squeeze-excitation and SiLU, Table 1). Larger models scale depth, width and
resolution together with one coefficient φ:

    depth d = α^φ, width w = β^φ, resolution r = γ^φ, with α·β²·γ² ≈ 2,

so each step of φ roughly doubles the multiply-adds (cost grows with d·w²·r²).
The paper's grid search gave α = 1.2, β = 1.1, γ = 1.15. Channels are rounded
to multiples of 8 (:func:`make_divisible`) and repeats rounded up.

The published B1–B7 do **not** follow the formula exactly: their (width,
depth, resolution) were rounded by hand. For φ = 1…7 the formula gives
(w, d) = (1.10, 1.20), (1.21, 1.44), (1.33, 1.73), (1.46, 2.07), (1.61, 2.49),
(1.77, 2.99), (1.95, 3.58) and r = 224·1.15^φ = 258, 296, 341, 392, 451, 519, 596
(256, 296, 344, 392, 448, 520, 592 rounded to multiples of 8, as built here); the released models use
(1.0, 1.1, 240), (1.1, 1.2, 260), (1.2, 1.4, 300),
(1.4, 1.8, 380), (1.6, 2.2, 456), (1.8, 2.6, 528), (2.0, 3.1, 600): B1 is
narrower and shallower than φ=1 (depth 1.1 vs 1.2), B7 shallower than φ=7
(3.1 vs 3.58). ``create_model("efficientnet", phi=...)`` builds the formula's
network; ``efficientnet_b*`` build the released ones (as torchvision, so its
weights load; B5–B7 use batch norm eps 1e-3 as torchvision does).

Stochastic depth: block i of n drops its residual branch with probability
``drop_path_rate · i / n`` (default 0.2).

``small_input=True`` (for 28–64 px images): the stem convolution has stride 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from torch import Tensor, nn

from ..layers import (
    ClassifierHead,
    ConvNormAct,
    InvertedResidual,
    SqueezeExcite,
    drop_path_rates,
    init_weights,
    make_divisible,
    stem_3x3,
)
from ..registry import Paper, register_model
from .base import ZooModel, register_variants
from .features import sequential_children

PAPER = Paper("EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", "1905.11946", 2019)


# Table 1 of the paper (B0): (expansion, kernel, first stride, input channels, output channels, repeats)
class StageConfig(NamedTuple):
    """One row of the paper's Table 1: a stage of MBConv blocks."""

    expansion: int
    kernel: int
    stride: int  # of the stage's first block
    in_channels: int
    out_channels: int
    repeats: int

    def scaled(self, scaling: Scaling) -> StageConfig:
        """Width rounded to a multiple of 8, repeats rounded up (the official code's rules)."""
        return self._replace(
            in_channels=scale_channels(self.in_channels, scaling.width),
            out_channels=scale_channels(self.out_channels, scaling.width),
            repeats=scale_repeats(self.repeats, scaling.depth),
        )


B0_STAGES = (
    StageConfig(1, 3, 1, 32, 16, 1),
    StageConfig(6, 3, 2, 16, 24, 2),
    StageConfig(6, 5, 2, 24, 40, 2),
    StageConfig(6, 3, 2, 40, 80, 3),
    StageConfig(6, 5, 1, 80, 112, 3),
    StageConfig(6, 5, 2, 112, 192, 4),
    StageConfig(6, 3, 1, 192, 320, 1),
)
B0_RESOLUTION = 224


@dataclass(frozen=True)
class Scaling:
    """Multipliers for one EfficientNet variant."""

    width: float
    depth: float
    resolution: int
    drop_rate: float = 0.2
    bn_eps: float = 1e-5  # torchvision: 1e-3 with momentum 0.01 (TensorFlow's defaults) for B5-B7
    bn_momentum: float = 0.1


def compound_scaling(phi: float, alpha: float = 1.2, beta: float = 1.1, gamma: float = 1.15) -> Scaling:
    """d = α^φ, w = β^φ, r = 224·γ^φ rounded to a multiple of 8 (eq. 3 of the paper)."""
    resolution = int(round(B0_RESOLUTION * gamma**phi / 8) * 8)
    return Scaling(width=beta**phi, depth=alpha**phi, resolution=resolution)


def scale_channels(channels: int, width: float) -> int:
    return make_divisible(channels * width)


def scale_repeats(repeats: int, depth: float) -> int:
    return math.ceil(repeats * depth)


def _squeeze_excite(block_in_channels: int):
    """SE with a squeeze to a quarter of the block's *input* channels, SiLU inside, sigmoid gate."""
    return lambda channels: SqueezeExcite(channels, max(1, block_in_channels // 4), act_layer=nn.SiLU)


class EfficientNet(ZooModel):
    """3×3 stem, seven MBConv stages, 1×1 conv to 4×320·w, global pool, dropout, linear."""

    def __init__(
        self,
        scaling: Scaling,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        bn_eps: float | None = None,
        bn_momentum: float | None = None,
        drop_rate: float | None = None,
        drop_path_rate: float = 0.2,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        self.scaling = scaling
        self.resolution = scaling.resolution  # the input size this variant is meant to be trained at
        # bn_eps / bn_momentum override the variant's (timm builds every variant with 1e-5 and 0.1)
        eps = scaling.bn_eps if bn_eps is None else bn_eps
        momentum = scaling.bn_momentum if bn_momentum is None else bn_momentum
        norm_layer = partial(nn.BatchNorm2d, eps=eps, momentum=momentum)
        stages = [stage.scaled(scaling) for stage in B0_STAGES]
        channels = stages[0].in_channels
        self.stem = stem_3x3(in_chans, channels, small_input=small_input, act_layer=nn.SiLU, norm_layer=norm_layer)
        rates = iter(drop_path_rates(drop_path_rate, sum(stage.repeats for stage in stages)))
        stage_modules = []
        for stage in stages:
            blocks = []
            for index in range(stage.repeats):
                blocks.append(
                    InvertedResidual(
                        channels,
                        stage.out_channels,
                        make_divisible(channels * stage.expansion),
                        stage.kernel,
                        stage.stride if index == 0 else 1,
                        act_layer=nn.SiLU,
                        norm_layer=norm_layer,
                        se_layer=_squeeze_excite(channels),
                        drop_path_rate=next(rates),
                    )
                )
                channels = stage.out_channels
            stage_modules.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stage_modules)
        self.num_features = 4 * channels
        self.conv_head = ConvNormAct(channels, self.num_features, 1, norm_layer=norm_layer, act_layer=nn.SiLU)
        drop_rate = scaling.drop_rate if drop_rate is None else drop_rate
        self.head = ClassifierHead(self.num_features, num_classes, drop_rate=drop_rate)
        init_weights(self)

    def feature_path(self) -> list[str]:
        """Stem and stages; like timm, backbones end at the last stage, before the 1×1 ``conv_head``."""
        return ["stem", *sequential_children(self, "stages")]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, 32·w, H/2, W/2)
        x = self.stages(x)  # (N, 320·w, H/32, W/32)
        return self.conv_head(x)  # (N, 1280·w, H/32, W/32)


# The released variants (Table 2 / the official code), with torchvision's batch-norm settings.
TF_BN = {"bn_eps": 1e-3, "bn_momentum": 0.01}
VARIANTS = {
    "efficientnet_b0": Scaling(width=1.0, depth=1.0, resolution=224, drop_rate=0.2),
    "efficientnet_b1": Scaling(width=1.0, depth=1.1, resolution=240, drop_rate=0.2),
    "efficientnet_b2": Scaling(width=1.1, depth=1.2, resolution=260, drop_rate=0.3),
    "efficientnet_b3": Scaling(width=1.2, depth=1.4, resolution=300, drop_rate=0.3),
    "efficientnet_b4": Scaling(width=1.4, depth=1.8, resolution=380, drop_rate=0.4),
    "efficientnet_b5": Scaling(width=1.6, depth=2.2, resolution=456, drop_rate=0.4, **TF_BN),
    "efficientnet_b6": Scaling(width=1.8, depth=2.6, resolution=528, drop_rate=0.5, **TF_BN),
    "efficientnet_b7": Scaling(width=2.0, depth=3.1, resolution=600, drop_rate=0.5, **TF_BN),
}


def efficientnet(
    phi: float = 0.0,
    *,
    alpha: float = 1.2,
    beta: float = 1.1,
    gamma: float = 1.15,
    **kwargs,
) -> EfficientNet:
    """The network of the compound-scaling formula for coefficient ``phi`` (see module docstring)."""
    return EfficientNet(compound_scaling(phi, alpha, beta, gamma), **kwargs)


register_variants(
    VARIANTS,
    lambda name, scaling: register_model(
        name,
        partial(EfficientNet, scaling),
        family="efficientnet",
        paper=PAPER,
        default_input_size=(3, scaling.resolution, scaling.resolution),
        reference={"torchvision": name, "timm": name},
        uses_drop_path=True,
        extra_info={"width_mult": scaling.width, "depth_mult": scaling.depth},
    ),
)

register_model(
    "efficientnet",
    efficientnet,
    family="efficientnet",
    paper=PAPER,
    uses_drop_path=True,
    extra_info={"note": "compound scaling: create_model('efficientnet', phi=φ); model.resolution is 224·1.15^φ"},
)
