# SPDX-License-Identifier: MIT
"""Depthwise-separable convolution (Chollet 2017, arXiv:1610.02357; Howard et al. 2017, arXiv:1704.04861).

A k×k convolution from C to C' channels costs k²·C·C' multiply-adds per pixel.
Splitting it into a depthwise k×k convolution (one filter per channel, k²·C)
and a pointwise 1×1 convolution (C·C') cuts that by roughly a factor k².

The two published flavours differ only in what sits between and after the two
convolutions, so both are this one module:

- MobileNet v1: ``dw → BN → act → pw → BN → act`` (``norm_layer``/``act_layer`` set);
- Xception: ``dw → pw`` with no norm or activation in between (both ``None``);
  the block around it adds the batch norm.
"""

from __future__ import annotations

from torch import nn

from .conv_norm_act import ConvNormAct, ModuleFactory


class DepthwiseSeparableConv(nn.Sequential):
    """Depthwise k×k convolution followed by a pointwise 1×1 convolution."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        dilation: int = 1,
        norm_layer: ModuleFactory | None = nn.BatchNorm2d,
        act_layer: ModuleFactory | None = nn.ReLU,
        pointwise_act: bool = True,
        bias: bool | None = None,
    ) -> None:
        super().__init__(
            ConvNormAct(
                in_channels,
                in_channels,
                kernel_size,
                stride,
                dilation=dilation,
                groups=in_channels,
                bias=bias,
                norm_layer=norm_layer,
                act_layer=act_layer,
            ),
            ConvNormAct(
                in_channels,
                out_channels,
                1,
                bias=bias,
                norm_layer=norm_layer,
                act_layer=act_layer if pointwise_act else None,
            ),
        )
