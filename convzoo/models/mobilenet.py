# SPDX-License-Identifier: MIT
"""MobileNet v1 and v2: depthwise-separable convolutions and inverted residuals.

- MobileNet v1 (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural
  Networks for Mobile Vision Applications", arXiv:1704.04861): a 3×3 stem and
  13 depthwise-separable convolutions, roughly 8–9× cheaper than full 3×3
  convolutions. The width multiplier α (``width_mult``) thins every layer,
  cutting cost by about α². As timm's ``mobilenetv1_100`` (so its weights
  load): ReLU6 instead of the paper's ReLU, channels rounded to multiples of 8.
- MobileNet v2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear
  Bottlenecks", arXiv:1801.04381): stacks of the inverted residual block
  (expand ×6 with 1×1, depthwise 3×3, linear 1×1 projection), Table 2 of the
  paper; as torchvision's ``mobilenet_v2``.

``small_input=True`` (for 28–64 px images): the stem convolution has stride 1
instead of 2, so the network downsamples 16× instead of 32×.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from ..layers import (
    ClassifierHead,
    ConvNormAct,
    DepthwiseSeparableConv,
    InvertedResidual,
    init_weights,
    make_divisible,
    stem_3x3,
)
from ..registry import Paper, register_model
from .base import ZooModel
from .features import sequential_children

V1_PAPER = Paper(
    "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications", "1704.04861", 2017
)
V2_PAPER = Paper("MobileNetV2: Inverted Residuals and Linear Bottlenecks", "1801.04381", 2018)


class V1Layer(NamedTuple):
    """One depthwise-separable layer of Table 1 of the v1 paper (its depthwise and pointwise rows together)."""

    out_channels: int  # of the pointwise 1×1 convolution
    stride: int  # of the depthwise 3×3 convolution


V1_LAYERS = [  # Table 1, after the stem
    V1Layer(out_channels=64, stride=1),
    V1Layer(out_channels=128, stride=2),
    V1Layer(out_channels=128, stride=1),
    V1Layer(out_channels=256, stride=2),
    V1Layer(out_channels=256, stride=1),
    V1Layer(out_channels=512, stride=2),
    *[V1Layer(out_channels=512, stride=1)] * 5,
    V1Layer(out_channels=1024, stride=2),
    V1Layer(out_channels=1024, stride=1),
]


class V2Stage(NamedTuple):
    """One row of Table 2 of the v2 paper."""

    expansion: int  # t
    out_channels: int  # c
    repeats: int  # n
    stride: int  # s, of the first block


V2_SETTINGS = [
    V2Stage(expansion=1, out_channels=16, repeats=1, stride=1),
    V2Stage(expansion=6, out_channels=24, repeats=2, stride=2),
    V2Stage(expansion=6, out_channels=32, repeats=3, stride=2),
    V2Stage(expansion=6, out_channels=64, repeats=4, stride=2),
    V2Stage(expansion=6, out_channels=96, repeats=3, stride=1),
    V2Stage(expansion=6, out_channels=160, repeats=3, stride=2),
    V2Stage(expansion=6, out_channels=320, repeats=1, stride=1),
]


class MobileNetV1(ZooModel):
    """3×3 stem (stride 2) and 13 depthwise-separable convolutions, global pool, linear."""

    def __init__(
        self,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        width_mult: float = 1.0,
        drop_rate: float = 0.0,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        channels = make_divisible(32 * width_mult)
        self.stem = stem_3x3(in_chans, channels, small_input=small_input, act_layer=nn.ReLU6)
        blocks = []
        for layer in V1_LAYERS:
            out_channels = make_divisible(layer.out_channels * width_mult)
            blocks.append(DepthwiseSeparableConv(channels, out_channels, 3, layer.stride, act_layer=nn.ReLU6))
            channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.num_features = channels
        self.head = ClassifierHead(channels, num_classes, drop_rate=drop_rate)
        init_weights(self)

    def feature_path(self) -> list[str]:
        return ["stem", *sequential_children(self, "blocks")]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, 32α, H/2, W/2)
        return self.blocks(x)  # (N, 1024α, H/32, W/32)


class MobileNetV2(ZooModel):
    """3×3 stem, 17 inverted residual blocks, 1×1 convolution to 1280, global pool, linear."""

    def __init__(
        self,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        width_mult: float = 1.0,
        drop_rate: float = 0.2,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        channels = make_divisible(32 * width_mult)
        self.stem = stem_3x3(in_chans, channels, small_input=small_input, act_layer=nn.ReLU6)
        blocks = []
        for stage in V2_SETTINGS:
            out_channels = make_divisible(stage.out_channels * width_mult)
            for index in range(stage.repeats):
                stride = stage.stride if index == 0 else 1
                expanded = round(channels * stage.expansion)
                blocks.append(InvertedResidual(channels, out_channels, expanded, 3, stride, act_layer=nn.ReLU6))
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.num_features = make_divisible(1280 * max(1.0, width_mult))
        self.conv_head = ConvNormAct(channels, self.num_features, 1, act_layer=nn.ReLU6)
        self.head = ClassifierHead(self.num_features, num_classes, drop_rate=drop_rate)
        init_weights(self)

    def feature_path(self) -> list[str]:
        """Stem and blocks; like timm, backbones end at the last block, before the 1×1 ``conv_head``."""
        return ["stem", *sequential_children(self, "blocks")]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, 32, H/2, W/2)
        x = self.blocks(x)  # (N, 320, H/32, W/32)
        return self.conv_head(x)  # (N, 1280, H/32, W/32)


register_model(
    "mobilenet_v1",
    MobileNetV1,
    family="mobilenet",
    paper=V1_PAPER,
    reference={"timm": "mobilenetv1_100"},
)
register_model(
    "mobilenet_v2",
    MobileNetV2,
    family="mobilenet",
    paper=V2_PAPER,
    reference={"torchvision": "mobilenet_v2", "timm": "mobilenetv2_100"},
)
