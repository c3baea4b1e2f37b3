# SPDX-License-Identifier: MIT
"""The inverted residual block, "MBConv" (Sandler et al. 2018, MobileNetV2, arXiv:1801.04381).

A ResNet bottleneck squeezes channels (wide → narrow → wide); this block does
the opposite: a 1×1 convolution *expands* a narrow input by a factor t, a
cheap depthwise k×k convolution filters the wide tensor, and a 1×1 projection
brings it back down with **no** activation (a "linear bottleneck": ReLU on a
low-dimensional tensor destroys information). The shortcut joins the narrow
ends. MobileNetV3 (arXiv:1905.02244) adds squeeze-excitation and hard-swish;
EfficientNet (arXiv:1905.11946) uses SiLU, squeeze-excitation and stochastic
depth. All three are this one module with different arguments.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from .conv_norm_act import ConvNormAct, ModuleFactory
from .drop_path import DropPath


class InvertedResidual(nn.Module):
    """``[1×1 expand] → k×k depthwise → [squeeze-excite] → 1×1 linear project``, plus shortcut."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expanded_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        dilation: int = 1,
        act_layer: ModuleFactory = nn.ReLU6,
        norm_layer: ModuleFactory = nn.BatchNorm2d,
        se_layer: Callable[[int], nn.Module] | None = None,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.use_shortcut = stride == 1 and in_channels == out_channels
        if expanded_channels != in_channels:
            self.expand = ConvNormAct(in_channels, expanded_channels, 1, norm_layer=norm_layer, act_layer=act_layer)
        else:
            self.expand = nn.Identity()
        self.depthwise = ConvNormAct(
            expanded_channels,
            expanded_channels,
            kernel_size,
            stride,
            dilation=dilation,
            groups=expanded_channels,
            norm_layer=norm_layer,
            act_layer=act_layer,
        )
        self.se = se_layer(expanded_channels) if se_layer is not None else nn.Identity()
        self.project = ConvNormAct(expanded_channels, out_channels, 1, norm_layer=norm_layer, act_layer=None)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.expand(x)  # (N, C, H, W) -> (N, t·C, H, W)
        x = self.depthwise(x)  # spatial filtering, one filter per channel
        x = self.se(x)
        x = self.project(x)  # (N, t·C, H', W') -> (N, C', H', W'), no activation
        if self.use_shortcut:
            x = self.drop_path(x)
            x += shortcut
        return x
