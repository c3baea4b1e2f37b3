# SPDX-License-Identifier: MIT
"""The 3×3 convolution stem of the mobile families (MobileNet v1–v3, EfficientNet v1/v2).

Stride 2 in the published layout; stride 1 for the small-input variant, so a
28×28 image is not halved before the first block.
"""

from __future__ import annotations

from torch import nn

from .conv_norm_act import ConvNormAct, ModuleFactory


def stem_3x3(
    in_chans: int,
    out_channels: int,
    *,
    small_input: bool,
    act_layer: ModuleFactory,
    norm_layer: ModuleFactory = nn.BatchNorm2d,
) -> ConvNormAct:
    return ConvNormAct(in_chans, out_channels, 3, 1 if small_input else 2, norm_layer=norm_layer, act_layer=act_layer)
