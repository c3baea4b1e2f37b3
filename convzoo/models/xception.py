# SPDX-License-Identifier: MIT
"""Xception (Chollet 2017), "Xception: Deep Learning with Depthwise Separable Convolutions", arXiv:1610.02357.

The "extreme" Inception hypothesis: map cross-channel correlations and spatial
correlations completely separately. Every convolution after the two-layer stem
is depthwise-separable (a depthwise 3×3 followed by a pointwise 1×1, with no
non-linearity in between), arranged in residual blocks: an entry flow that
downsamples to 728 channels, a middle flow of eight identical blocks, an exit
flow to 2048 channels (Fig. 5 of the paper). As timm's ``legacy_xception``,
so its weights load.

``small_input=True`` (for 28–64 px images): both stem convolutions get padding
1 and the first has stride 1, so a 28×28 image reaches the exit flow at 2×2
instead of 1×1 (the default layout downsamples 32× and pads nothing in the stem).
"""

from __future__ import annotations

from torch import Tensor, nn

from ..layers import ClassifierHead, ConvNormAct, DepthwiseSeparableConv, init_weights
from ..registry import Paper, register_model
from .base import ZooModel
from .features import sequential_children

PAPER = Paper("Xception: Deep Learning with Depthwise Separable Convolutions", "1610.02357", 2017)


def separable_conv(in_channels: int, out_channels: int) -> DepthwiseSeparableConv:
    """Depthwise 3×3 then pointwise 1×1, no bias, nothing in between (Xception's SeparableConv)."""
    return DepthwiseSeparableConv(in_channels, out_channels, 3, norm_layer=None, act_layer=None, bias=False)


class XceptionBlock(nn.Module):
    """``repeats`` × (ReLU → separable conv → BN), an optional 3×3/2 max-pool, and a shortcut.

    ``grow_first``: the first separable convolution changes the channel count
    (entry flow); otherwise the last one does (exit flow). The shortcut is a
    strided 1×1 convolution with BN where the shape changes.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        repeats: int,
        stride: int = 1,
        *,
        start_with_relu: bool = True,
        grow_first: bool = True,
    ) -> None:
        super().__init__()
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = ConvNormAct(in_channels, out_channels, 1, stride, act_layer=None)
        else:
            self.shortcut = nn.Identity()
        layers: list[nn.Module] = []
        for index in range(repeats):
            if grow_first:
                conv_in, conv_out = (in_channels if index == 0 else out_channels), out_channels
            else:
                conv_in, conv_out = in_channels, (out_channels if index == repeats - 1 else in_channels)
            if index > 0 or start_with_relu:
                # the block's first ReLU must not overwrite its input: the shortcut still needs it
                layers.append(nn.ReLU(inplace=index > 0))
            layers.append(separable_conv(conv_in, conv_out))
            layers.append(nn.BatchNorm2d(conv_out))
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.residual = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.shortcut(x)
        x = self.residual(x)
        x += shortcut
        return x


class Xception(ZooModel):
    """Entry flow (stem + 3 blocks), middle flow (8 blocks), exit flow (1 block + 2 separable convs)."""

    def __init__(
        self,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        drop_rate: float = 0.0,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        padding = 1 if small_input else 0
        self.stem = nn.Sequential(
            ConvNormAct(in_chans, 32, 3, 1 if small_input else 2, padding=padding),
            ConvNormAct(32, 64, 3, padding=padding),
        )
        self.entry_flow = nn.Sequential(
            XceptionBlock(64, 128, 2, 2, start_with_relu=False),
            XceptionBlock(128, 256, 2, 2),
            XceptionBlock(256, 728, 2, 2),
        )
        self.middle_flow = nn.Sequential(*[XceptionBlock(728, 728, 3) for _ in range(8)])
        self.exit_flow = nn.Sequential(
            XceptionBlock(728, 1024, 2, 2, grow_first=False),
            separable_conv(1024, 1536),
            nn.BatchNorm2d(1536),
            nn.ReLU(inplace=True),
            separable_conv(1536, 2048),
            nn.BatchNorm2d(2048),
            nn.ReLU(inplace=True),
        )
        self.num_features = 2048
        self.head = ClassifierHead(2048, num_classes, drop_rate=drop_rate)
        init_weights(self)

    def feature_path(self) -> list[str]:
        flows = ("entry_flow", "middle_flow", "exit_flow")
        return ["stem", *(name for flow in flows for name in sequential_children(self, flow))]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, 64, H/2 - 3, W/2 - 3) in the default layout
        x = self.entry_flow(x)  # (N, 728, ~H/16, ~W/16)
        x = self.middle_flow(x)
        return self.exit_flow(x)  # (N, 2048, ~H/32, ~W/32)


register_model(
    "xception",
    Xception,
    family="xception",
    paper=PAPER,
    default_input_size=(3, 299, 299),
    reference={"timm": "legacy_xception"},
)
