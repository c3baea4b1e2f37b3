# SPDX-License-Identifier: MIT
"""MobileNetV3 (Howard et al. 2019, "Searching for MobileNetV3", arXiv:1905.02244).

Inverted residual blocks found by architecture search, with squeeze-excitation
in some blocks and the cheap "hard" activations: h-swish(x) = x·ReLU6(x+3)/6
and a hard-sigmoid gate. The last stage moves the 1×1 expansion after the
global pool ("efficient last stage"), so the 1280/1024-wide layer runs on a
1×1 map. Tables 1 and 2 of the paper; as torchvision's ``mobilenet_v3_large``
and ``mobilenet_v3_small`` (batch norm eps 1e-3, momentum 0.01).

timm's ``mobilenetv3_large_100`` is the same network with batch norm eps 1e-5
and momentum 0.1: ``bn_eps``/``bn_momentum`` select them, and
``create_model(name, pretrained="timm")`` or ``convzoo.from_reference`` do so
themselves. With the wrong eps timm's weights give outputs about 3% off.

``small_input=True`` (for 28–64 px images): the stem convolution has stride 1.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from torch import Tensor, nn

from ..layers import (
    ClassifierHead,
    ConvNormAct,
    InvertedResidual,
    SqueezeExcite,
    init_weights,
    make_divisible,
    stem_3x3,
)
from ..registry import Paper, register_model
from .base import ZooModel, register_variants
from .features import sequential_children

PAPER = Paper("Searching for MobileNetV3", "1905.02244", 2019)

RE, HS = nn.ReLU, nn.Hardswish


class Bneck(NamedTuple):
    """One inverted-residual row of Tables 1 and 2 of the paper (its "bneck" operator)."""

    kernel: int  # depthwise kernel side
    expanded: int  # "exp size": channels after the 1×1 expansion
    out_channels: int  # "#out"
    squeeze_excite: bool  # "SE"
    activation: type[nn.Module]  # "NL": RE (ReLU) or HS (h-swish)
    stride: int  # "s", of the depthwise convolution


# Table 1 (large) and Table 2 (small), after the stem; columns as in Bneck
LARGE = [
    Bneck(3, 16, 16, False, RE, 1),
    Bneck(3, 64, 24, False, RE, 2),
    Bneck(3, 72, 24, False, RE, 1),
    Bneck(5, 72, 40, True, RE, 2),
    Bneck(5, 120, 40, True, RE, 1),
    Bneck(5, 120, 40, True, RE, 1),
    Bneck(3, 240, 80, False, HS, 2),
    Bneck(3, 200, 80, False, HS, 1),
    Bneck(3, 184, 80, False, HS, 1),
    Bneck(3, 184, 80, False, HS, 1),
    Bneck(3, 480, 112, True, HS, 1),
    Bneck(3, 672, 112, True, HS, 1),
    Bneck(5, 672, 160, True, HS, 2),
    Bneck(5, 960, 160, True, HS, 1),
    Bneck(5, 960, 160, True, HS, 1),
]
SMALL = [
    Bneck(3, 16, 16, True, RE, 2),
    Bneck(3, 72, 24, False, RE, 2),
    Bneck(3, 88, 24, False, RE, 1),
    Bneck(5, 96, 40, True, HS, 2),
    Bneck(5, 240, 40, True, HS, 1),
    Bneck(5, 240, 40, True, HS, 1),
    Bneck(5, 120, 48, True, HS, 1),
    Bneck(5, 144, 48, True, HS, 1),
    Bneck(5, 288, 96, True, HS, 2),
    Bneck(5, 576, 96, True, HS, 1),
    Bneck(5, 576, 96, True, HS, 1),
]


def _squeeze_excite(channels: int) -> SqueezeExcite:
    return SqueezeExcite(channels, make_divisible(channels // 4), act_layer=nn.ReLU, gate_layer=nn.Hardsigmoid)


class MobileNetV3(ZooModel):
    """3×3 h-swish stem, searched inverted residual blocks, 1×1 conv, pool, FC + h-swish, linear."""

    def __init__(
        self,
        layers: list[Bneck],
        hidden_features: int,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        width_mult: float = 1.0,
        drop_rate: float = 0.2,
        small_input: bool = False,
        bn_eps: float = 1e-3,  # torchvision's (TensorFlow's); timm uses 1e-5
        bn_momentum: float = 0.01,  # torchvision's; timm uses 0.1
    ) -> None:
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=bn_eps, momentum=bn_momentum)
        channels = make_divisible(16 * width_mult)
        self.stem = stem_3x3(in_chans, channels, small_input=small_input, act_layer=HS, norm_layer=norm_layer)
        blocks = []
        for row in layers:
            expanded = make_divisible(row.expanded * width_mult)
            out_channels = make_divisible(row.out_channels * width_mult)
            blocks.append(
                InvertedResidual(
                    channels,
                    out_channels,
                    expanded,
                    row.kernel,
                    row.stride,
                    act_layer=row.activation,
                    norm_layer=norm_layer,
                    se_layer=_squeeze_excite if row.squeeze_excite else None,
                )
            )
            channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.num_features = 6 * channels
        self.conv_head = ConvNormAct(channels, self.num_features, 1, norm_layer=norm_layer, act_layer=HS)
        hidden_features = make_divisible(hidden_features * width_mult)
        hidden = nn.Sequential(nn.Linear(self.num_features, hidden_features), nn.Hardswish(inplace=True))
        self.head = ClassifierHead(
            self.num_features, num_classes, pre_logits=hidden, hidden_features=hidden_features, drop_rate=drop_rate
        )
        init_weights(self)

    def feature_path(self) -> list[str]:
        """Stem, blocks and the 1×1 ``conv_head`` (timm counts it as the last block of MobileNetV3)."""
        return ["stem", *sequential_children(self, "blocks"), "conv_head"]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, 16, H/2, W/2)
        x = self.blocks(x)  # (N, 160 | 96, H/32, W/32)
        return self.conv_head(x)  # (N, 960 | 576, H/32, W/32)


class Variant(NamedTuple):
    layers: list[Bneck]  # LARGE or SMALL above
    hidden_features: int  # of the head's hidden linear layer
    timm_name: str


VARIANTS = {
    "mobilenet_v3_large": Variant(LARGE, hidden_features=1280, timm_name="mobilenetv3_large_100"),
    "mobilenet_v3_small": Variant(SMALL, hidden_features=1024, timm_name="mobilenetv3_small_100"),
}

register_variants(
    VARIANTS,
    lambda name, variant: register_model(
        name,
        partial(MobileNetV3, variant.layers, variant.hidden_features),
        family="mobilenet",
        paper=PAPER,
        reference={"torchvision": name, "timm": variant.timm_name},
    ),
)
