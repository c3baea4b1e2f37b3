# SPDX-License-Identifier: MIT
"""RegNet (Radosavovic et al. 2020), "Designing Network Design Spaces", arXiv:2003.13678.

The paper designs a population of networks instead of one network. It starts
from AnyNet (a stem, four stages of residual bottleneck blocks, a head, with
every stage's width, depth, group width and bottleneck ratio free), samples
models, compares their error distributions, and keeps each constraint that does
not make the distribution worse: one bottleneck ratio and one group width for
all stages, widths and depths that grow from stage to stage. What remains,
RegNet, is a line and a quantization:

- **The linear width rule.** Block j (0 ≤ j < d) gets the width
  u_j = w_0 + w_a·j. Each u_j is snapped to the nearest w_0·w_m^s_j with s_j an
  integer (s_j = round(log(u_j / w_0) / log(w_m))) and rounded to a multiple of
  8. Blocks with equal widths form a stage, so the stage widths grow by about
  w_m from one stage to the next and the stage depths follow from the rule
  instead of being chosen: four numbers (d, w_0, w_a, w_m) describe the network.
- **Group widths.** The 3×3 convolution is grouped with g channels per group;
  each stage's width is rounded to a multiple of g (the nearest, never below
  90%: :func:`~convzoo.layers.make_divisible`), and g to at most the width.
- **Bottleneck ratio 1.** The best models of the space do not narrow inside the
  block (section 4: b = 1), so all three convolutions of a block have the
  stage's width: the X block is ResNeXt's bottleneck with b = 1.
- **SE in RegNetY.** Y adds squeeze-and-excitation after the 3×3 convolution,
  with a squeeze width of a quarter of the block's *input* width (not its inner
  width), rounded.

The first block of each stage has stride 2 and a 1×1 projection shortcut; the
stem is a 3×3 stride-2 convolution with 32 channels, the head global average
pooling and a linear layer.

Deliberate differences from the paper (all as torchvision, so its weights load):

- none in the architecture; initialization is He-normal (fan-out) with identity
  batch norms, as torchvision's (timm also zero-initializes the last batch norm
  of each block's main branch; pycls does too).
- The shortcut is registered before the main branch, as torchvision's ``proj``
  before ``f``; timm registers its ``downsample`` last. ``reference_reorder``
  below tells the conversion.

timm's ``regnetx_004`` is *not* torchvision's ``regnet_x_400mf``: timm rounds a
stage width to its group multiple half-to-even (392 with 16-wide groups → 384),
torchvision up (400), so its last stage is 384 wide in 24 groups (5.16 M
parameters against 5.50 M). ``regnetx_004_tv`` is torchvision's network in
timm's code and is the timm reference here. For RegNetY-400MF both rules agree
and ``regnety_004`` is torchvision's ``regnet_y_400mf``.

``small_input=True`` (for 28–64 px images): the stem convolution has stride 1
(downsampling 16× instead of 32×).
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

from torch import Tensor, nn

from ..layers import ClassifierHead, ConvNormAct, SqueezeExcite, init_weights, make_divisible, stem_3x3
from ..registry import Paper, register_model
from .base import ZooModel, register_variants
from .features import sequential_children

PAPER = Paper("Designing Network Design Spaces", "2003.13678", 2020)

STEM_WIDTH = 32
WIDTH_QUANTUM = 8  # block widths are multiples of 8


class Stage(NamedTuple):
    """One stage as the width rule gives it."""

    width: int  # output channels of every block (bottleneck ratio 1: also the inner width)
    depth: int  # blocks
    group_width: int  # channels per group of the 3×3 convolution


class RegNetConfig(NamedTuple):
    """One model of the design space: the paper's parameters of the linear width rule, and SE for Y."""

    depth: int  # d: blocks in all four stages
    w_0: int  # initial width
    w_a: float  # slope of the width line
    w_m: float  # width multiplier between stages (quantization in log space)
    group_width: int  # g
    se_ratio: float = 0.0  # RegNetY: 0.25 (squeeze width / block input width); 0: RegNetX, no SE
    timm_name: str = ""

    def block_widths(self) -> list[int]:
        """w_j for each block: u_j = w_0 + w_a·j snapped to w_0·w_m^s (s integer), then to a multiple of 8."""
        widths = []
        for j in range(self.depth):
            u_j = self.w_0 + self.w_a * j
            s_j = round(math.log(u_j / self.w_0) / math.log(self.w_m))
            widths.append(round(self.w_0 * self.w_m**s_j / WIDTH_QUANTUM) * WIDTH_QUANTUM)
        return widths

    def stages(self) -> list[Stage]:
        """Runs of equal block widths, each width rounded to a multiple of its group width."""
        stages: list[Stage] = []
        for width in self.block_widths():
            if stages and stages[-1].width == width:
                stages[-1] = stages[-1]._replace(depth=stages[-1].depth + 1)
            else:
                stages.append(Stage(width, 1, self.group_width))
        adjusted = []
        for stage in stages:
            group_width = min(stage.group_width, stage.width)
            adjusted.append(Stage(make_divisible(stage.width, group_width), stage.depth, group_width))
        return adjusted


class RegNetBlock(nn.Module):
    """X block: 1×1 → 3×3 grouped (stride s) → 1×1, all of the stage's width, plus a shortcut; Y: SE after the 3×3."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, group_width: int, se_ratio: float = 0.0
    ) -> None:
        super().__init__()
        if stride == 1 and in_channels == out_channels:
            self.shortcut: nn.Module = nn.Identity()
        else:  # first block of a stage: strided 1×1 projection (registered first, as torchvision's ``proj``)
            self.shortcut = ConvNormAct(in_channels, out_channels, 1, stride, act_layer=None)
        self.conv1 = ConvNormAct(in_channels, out_channels, 1)
        self.conv2 = ConvNormAct(out_channels, out_channels, 3, stride, groups=out_channels // group_width)
        if se_ratio:
            self.se: nn.Module = SqueezeExcite(out_channels, round(se_ratio * in_channels))
        else:
            self.se = nn.Identity()
        self.conv3 = ConvNormAct(out_channels, out_channels, 1, act_layer=None)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.shortcut(x)
        x = self.conv1(x)  # (N, C_in, H, W) -> (N, w, H, W)
        x = self.conv2(x)  # (N, w, H/s, W/s), w/g groups
        x = self.se(x)
        x = self.conv3(x)
        x += shortcut
        return self.act(x)


class RegNet(ZooModel):
    """3×3 stride-2 stem (32 channels), four stages of RegNet blocks from the width rule, global pool, linear."""

    def __init__(
        self,
        config: RegNetConfig,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        drop_rate: float = 0.0,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        self.stem = stem_3x3(in_chans, STEM_WIDTH, small_input=small_input, act_layer=nn.ReLU)
        channels = STEM_WIDTH
        stages = []
        for stage in config.stages():
            blocks = []
            for index in range(stage.depth):
                stride = 2 if index == 0 else 1
                blocks.append(RegNetBlock(channels, stage.width, stride, stage.group_width, config.se_ratio))
                channels = stage.width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.num_features = channels
        self.head = ClassifierHead(channels, num_classes, drop_rate=drop_rate)
        init_weights(self)

    def feature_path(self) -> list[str]:
        return ["stem", *sequential_children(self, "stages")]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, 32, H/2, W/2)
        return self.stages(x)  # (N, w_4, H/32, W/32)


# The paper's models for a 400 MF budget (its appendix; pycls's configs, torchvision's builders)
VARIANTS = {
    "regnet_x_400mf": RegNetConfig(22, w_0=24, w_a=24.48, w_m=2.54, group_width=16, timm_name="regnetx_004_tv"),
    "regnet_y_400mf": RegNetConfig(
        16, w_0=48, w_a=27.89, w_m=2.09, group_width=8, se_ratio=0.25, timm_name="regnety_004"
    ),
}

register_variants(
    VARIANTS,
    lambda name, config: register_model(
        name,
        partial(RegNet, config),
        family="regnet",
        paper=PAPER,
        reference={"torchvision": name, "timm": config.timm_name},
        # timm's Bottleneck registers conv1, conv2, se, conv3, then its shortcut ``downsample``
        reference_reorder={"timm": (("downsample", "conv1"),)},
    ),
)
