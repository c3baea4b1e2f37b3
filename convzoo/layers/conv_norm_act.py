# SPDX-License-Identifier: MIT
"""Convolution → normalization → activation, the unit almost every CNN is built from.

Batch normalization (Ioffe & Szegedy 2015, arXiv:1502.03167) makes the
convolution's bias redundant, so the bias is dropped when a norm follows.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

ModuleFactory = Callable[..., nn.Module]

# Activations that accept ``inplace=True``; in-place saves one activation-sized buffer per layer.
_INPLACE_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.Hardsigmoid)


def make_activation(act_layer: ModuleFactory | None) -> nn.Module:
    """Instantiate an activation class, in place where the class supports it."""
    if act_layer is None:
        return nn.Identity()
    if isinstance(act_layer, type) and issubclass(act_layer, _INPLACE_ACTIVATIONS):
        return act_layer(inplace=True)
    return act_layer()


class ConvNormAct(nn.Sequential):
    """``conv → norm → act`` with "same" padding for odd kernels; norm or act may be ``None``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        padding: int | None = None,
        dilation: int = 1,
        groups: int = 1,
        bias: bool | None = None,
        norm_layer: ModuleFactory | None = nn.BatchNorm2d,
        act_layer: ModuleFactory | None = nn.ReLU,
    ) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
                dilation=dilation,
                groups=groups,
                bias=bias,
            )
        ]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if act_layer is not None:
            layers.append(make_activation(act_layer))
        super().__init__(*layers)
        self.out_channels = out_channels
