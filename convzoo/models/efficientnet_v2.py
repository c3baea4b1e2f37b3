# SPDX-License-Identifier: MIT
"""EfficientNetV2 (Tan & Le 2021), "EfficientNetV2: Smaller Models and Faster Training", arXiv:2104.00298.

Depthwise convolutions are cheap in multiply-adds but slow on accelerators in
the early, high-resolution stages. Fused-MBConv replaces MBConv's 1×1 expansion
and depthwise 3×3 with one regular 3×3 convolution there; the later stages keep
MBConv with squeeze-excitation. Found by training-aware search, scaled with
progressive learning. The S/M/L tables are torchvision's (batch norm eps 1e-3,
a 1280-channel head), so its weights load.

Stochastic depth: block i of n drops with ``drop_path_rate · i / n`` (default 0.2).

``small_input=True`` (for 28–64 px images): the stem convolution has stride 1.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from torch import Tensor, nn

from ..layers import (
    ClassifierHead,
    ConvNormAct,
    DropPath,
    InvertedResidual,
    SqueezeExcite,
    drop_path_rates,
    init_weights,
    make_divisible,
    stem_3x3,
)
from ..layers.conv_norm_act import ModuleFactory
from ..registry import Paper, register_model
from .base import ZooModel, register_variants
from .features import sequential_children

PAPER = Paper("EfficientNetV2: Smaller Models and Faster Training", "2104.00298", 2021)

FUSED, MBCONV = "fused", "mbconv"


class FusedMBConv(nn.Module):
    """Regular k×k convolution expanding by t, then a 1×1 linear projection (or one k×k conv when t = 1)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: int,
        kernel_size: int,
        stride: int,
        *,
        norm_layer: ModuleFactory,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.use_shortcut = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expansion)
        if expanded != in_channels:
            self.conv = ConvNormAct(
                in_channels, expanded, kernel_size, stride, norm_layer=norm_layer, act_layer=nn.SiLU
            )
            self.project: nn.Module = ConvNormAct(expanded, out_channels, 1, norm_layer=norm_layer, act_layer=None)
        else:
            self.conv = ConvNormAct(
                in_channels, out_channels, kernel_size, stride, norm_layer=norm_layer, act_layer=nn.SiLU
            )
            self.project = nn.Identity()
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.conv(x)  # (N, t·C, H/s, W/s)
        x = self.project(x)  # (N, C', H/s, W/s)
        if self.use_shortcut:
            x = self.drop_path(x)
            x += shortcut
        return x


class StageConfig(NamedTuple):
    """One row of the paper's Table 4 / torchvision's configuration."""

    block: str  # FUSED or MBCONV
    expansion: int
    kernel: int
    stride: int  # of the stage's first block
    in_channels: int
    out_channels: int
    repeats: int


S_STAGES = [
    StageConfig(FUSED, 1, 3, 1, 24, 24, 2),
    StageConfig(FUSED, 4, 3, 2, 24, 48, 4),
    StageConfig(FUSED, 4, 3, 2, 48, 64, 4),
    StageConfig(MBCONV, 4, 3, 2, 64, 128, 6),
    StageConfig(MBCONV, 6, 3, 1, 128, 160, 9),
    StageConfig(MBCONV, 6, 3, 2, 160, 256, 15),
]
M_STAGES = [
    StageConfig(FUSED, 1, 3, 1, 24, 24, 3),
    StageConfig(FUSED, 4, 3, 2, 24, 48, 5),
    StageConfig(FUSED, 4, 3, 2, 48, 80, 5),
    StageConfig(MBCONV, 4, 3, 2, 80, 160, 7),
    StageConfig(MBCONV, 6, 3, 1, 160, 176, 14),
    StageConfig(MBCONV, 6, 3, 2, 176, 304, 18),
    StageConfig(MBCONV, 6, 3, 1, 304, 512, 5),
]
L_STAGES = [
    StageConfig(FUSED, 1, 3, 1, 32, 32, 4),
    StageConfig(FUSED, 4, 3, 2, 32, 64, 7),
    StageConfig(FUSED, 4, 3, 2, 64, 96, 7),
    StageConfig(MBCONV, 4, 3, 2, 96, 192, 10),
    StageConfig(MBCONV, 6, 3, 1, 192, 224, 19),
    StageConfig(MBCONV, 6, 3, 2, 224, 384, 25),
    StageConfig(MBCONV, 6, 3, 1, 384, 640, 7),
]


class EfficientNetV2(ZooModel):
    """3×3 stem, Fused-MBConv then MBConv stages, 1×1 conv to 1280, global pool, dropout, linear."""

    def __init__(
        self,
        stages: list[StageConfig],
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        drop_rate: float = 0.2,
        drop_path_rate: float = 0.2,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=1e-3)
        channels = stages[0].in_channels
        self.stem = stem_3x3(in_chans, channels, small_input=small_input, act_layer=nn.SiLU, norm_layer=norm_layer)
        rates = iter(drop_path_rates(drop_path_rate, sum(stage.repeats for stage in stages)))
        stage_modules = []
        for kind, expansion, kernel, first_stride, _, out_channels, repeats in stages:  # StageConfig's fields
            blocks: list[nn.Module] = []
            for index in range(repeats):
                stride = first_stride if index == 0 else 1
                if kind == FUSED:
                    block: nn.Module = FusedMBConv(
                        channels,
                        out_channels,
                        expansion,
                        kernel,
                        stride,
                        norm_layer=norm_layer,
                        drop_path_rate=next(rates),
                    )
                else:
                    squeeze = max(1, channels // 4)
                    block = InvertedResidual(
                        channels,
                        out_channels,
                        make_divisible(channels * expansion),
                        kernel,
                        stride,
                        act_layer=nn.SiLU,
                        norm_layer=norm_layer,
                        se_layer=partial(SqueezeExcite, squeeze_channels=squeeze, act_layer=nn.SiLU),
                        drop_path_rate=next(rates),
                    )
                blocks.append(block)
                channels = out_channels
            stage_modules.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stage_modules)
        self.num_features = 1280
        self.conv_head = ConvNormAct(channels, 1280, 1, norm_layer=norm_layer, act_layer=nn.SiLU)
        self.head = ClassifierHead(1280, num_classes, drop_rate=drop_rate)
        init_weights(self)

    def feature_path(self) -> list[str]:
        """Stem and stages; like timm, backbones end at the last stage, before the 1×1 ``conv_head``."""
        return ["stem", *sequential_children(self, "stages")]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, 24, H/2, W/2)
        x = self.stages(x)  # (N, 256 | 512 | 640, H/32, W/32)
        return self.conv_head(x)  # (N, 1280, H/32, W/32)


class Variant(NamedTuple):
    stages: list[StageConfig]
    drop_rate: float
    resolution: int  # evaluation resolution


VARIANTS = {
    "efficientnet_v2_s": Variant(S_STAGES, drop_rate=0.2, resolution=384),
    "efficientnet_v2_m": Variant(M_STAGES, drop_rate=0.3, resolution=480),
    "efficientnet_v2_l": Variant(L_STAGES, drop_rate=0.4, resolution=480),
}

register_variants(
    VARIANTS,
    lambda name, variant: register_model(
        name,
        partial(EfficientNetV2, variant.stages, drop_rate=variant.drop_rate),
        family="efficientnet_v2",
        paper=PAPER,
        default_input_size=(3, variant.resolution, variant.resolution),
        reference={"torchvision": name},
        uses_drop_path=True,
    ),
)
