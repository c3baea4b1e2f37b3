# SPDX-License-Identifier: MIT
"""Squeeze-and-excitation (Hu et al. 2018, arXiv:1709.01507, Fig. 1 and eq. 2–3).

Global average pooling "squeezes" each channel to one number, a two-layer
bottleneck (1×1 convolutions) turns those into per-channel gates, and the
feature map is rescaled by them: channel attention for about 2·C·C/r weights.
"""

from __future__ import annotations

from torch import Tensor, nn

from .conv_norm_act import ModuleFactory, make_activation


class SqueezeExcite(nn.Module):
    """Rescale channels by gates computed from their global average."""

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        act_layer: ModuleFactory = nn.ReLU,
        gate_layer: ModuleFactory = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = make_activation(act_layer)
        self.expand = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = make_activation(gate_layer)

    def forward(self, x: Tensor) -> Tensor:
        scale = self.pool(x)  # (N, C, 1, 1)
        scale = self.reduce(scale)
        scale = self.act(scale)
        scale = self.expand(scale)
        scale = self.gate(scale)
        return x * scale
