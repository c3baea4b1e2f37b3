# SPDX-License-Identifier: MIT
"""ResNet (He et al. 2015), with its ResNeXt and Wide ResNet descendants.

- "Deep Residual Learning for Image Recognition", arXiv:1512.03385: each block
  learns a residual F(x) and outputs F(x) + x. The identity path carries
  gradients straight back through dozens of layers, so deeper networks train
  better instead of worse (the "degradation" problem of plain nets).
- "Aggregated Residual Transformations for Deep Neural Networks" (Xie et al.
  2016, arXiv:1611.05431): the bottleneck's 3×3 convolution split into
  ``groups`` parallel paths ("cardinality"), e.g. 32×4d.
- "Wide Residual Networks" (Zagoruyko & Komodakis 2016, arXiv:1605.07146):
  bottlenecks twice as wide.

Deliberate differences from the paper (all as torchvision, so its weights load):

- "ResNet v1.5": in a downsampling bottleneck the stride sits on the 3×3
  convolution, not on the first 1×1 (better accuracy, a little more compute).
- Downsampling shortcuts are 1×1 convolutions with batch norm ("option B").

``small_input=True`` (for 28–64 px images): the 7×7 stride-2 stem becomes a
3×3 stride-1 convolution and the stem max-pool is removed, so the network
downsamples 8× instead of 32×.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from torch import Tensor, nn

from ..errors import OptionError
from ..layers import ClassifierHead, ConvNormAct, init_weights
from ..registry import Paper, register_model
from .base import ZooModel, register_variants

RESNET_PAPER = Paper("Deep Residual Learning for Image Recognition", "1512.03385", 2015)
RESNEXT_PAPER = Paper("Aggregated Residual Transformations for Deep Neural Networks", "1611.05431", 2016)
WIDE_PAPER = Paper("Wide Residual Networks", "1605.07146", 2016)


def projection_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Identity when shapes match, else a strided 1×1 convolution with batch norm (option B)."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return ConvNormAct(in_channels, out_channels, 1, stride, act_layer=None)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions and a shortcut (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise OptionError("BasicBlock supports only groups=1 and base_width=64")
        self.conv1 = ConvNormAct(in_channels, planes, 3, stride)
        self.conv2 = ConvNormAct(planes, planes, 3, act_layer=None)
        self.shortcut = projection_shortcut(in_channels, planes, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.shortcut(x)
        x = self.conv1(x)
        x = self.conv2(x)
        x += shortcut
        return self.act(x)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (grouped for ResNeXt, strided in v1.5) → 1×1 expand ×4, plus shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * base_width / 64) * groups
        out_channels = planes * self.expansion
        self.conv1 = ConvNormAct(in_channels, width, 1)
        self.conv2 = ConvNormAct(width, width, 3, stride, groups=groups)
        self.conv3 = ConvNormAct(width, out_channels, 1, act_layer=None)
        self.shortcut = projection_shortcut(in_channels, out_channels, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.shortcut(x)
        x = self.conv1(x)  # (N, C, H, W) -> (N, width, H, W)
        x = self.conv2(x)  # (N, width, H/s, W/s)
        x = self.conv3(x)  # (N, 4·planes, H/s, W/s)
        x += shortcut
        return self.act(x)


class ResNet(ZooModel):
    """Stem, four stages of residual blocks (64/128/256/512 planes), global pool, linear."""

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        layers: tuple[int, int, int, int],
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        groups: int = 1,
        base_width: int = 64,
        drop_rate: float = 0.0,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        if small_input:
            self.stem = ConvNormAct(in_chans, 64, 3)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.stem = ConvNormAct(in_chans, 64, 7, 2)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_channels = 64
        stages = []
        for index, (planes, depth) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            blocks = []
            for block_index in range(depth):
                stride = 2 if index > 0 and block_index == 0 else 1
                blocks.append(block(in_channels, planes, stride, groups, base_width))
                in_channels = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.num_features = in_channels
        self.head = ClassifierHead(in_channels, num_classes, drop_rate=drop_rate)
        init_weights(self)

    def feature_path(self) -> list[str]:
        return ["stem", "maxpool", "layer1", "layer2", "layer3", "layer4"]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = self.maxpool(x)  # (N, 64, H/4, W/4)
        x = self.layer1(x)
        x = self.layer2(x)  # (N, 128·e, H/8, W/8)
        x = self.layer3(x)
        x = self.layer4(x)  # (N, 512·e, H/32, W/32)
        return x


class ResNetConfig(NamedTuple):
    """One variant: its block, the number of blocks per stage, and the bottleneck's grouped width."""

    block: type[BasicBlock | Bottleneck]
    layers: tuple[int, int, int, int]  # blocks per stage
    groups: int = 1  # ResNeXt's cardinality
    width_per_group: int = 64  # 128: Wide ResNet-*-2
    paper: Paper = RESNET_PAPER

    @property
    def family(self) -> str:
        return "resnext" if self.groups > 1 else ("wide_resnet" if self.width_per_group > 64 else "resnet")

    def builder(self):
        return partial(ResNet, self.block, self.layers, groups=self.groups, base_width=self.width_per_group)


VARIANTS = {
    "resnet18": ResNetConfig(BasicBlock, (2, 2, 2, 2)),
    "resnet34": ResNetConfig(BasicBlock, (3, 4, 6, 3)),
    "resnet50": ResNetConfig(Bottleneck, (3, 4, 6, 3)),
    "resnet101": ResNetConfig(Bottleneck, (3, 4, 23, 3)),
    "resnet152": ResNetConfig(Bottleneck, (3, 8, 36, 3)),
    "wide_resnet50_2": ResNetConfig(Bottleneck, (3, 4, 6, 3), width_per_group=128, paper=WIDE_PAPER),
    "wide_resnet101_2": ResNetConfig(Bottleneck, (3, 4, 23, 3), width_per_group=128, paper=WIDE_PAPER),
    "resnext50_32x4d": ResNetConfig(Bottleneck, (3, 4, 6, 3), groups=32, width_per_group=4, paper=RESNEXT_PAPER),
    "resnext101_32x8d": ResNetConfig(Bottleneck, (3, 4, 23, 3), groups=32, width_per_group=8, paper=RESNEXT_PAPER),
    "resnext101_64x4d": ResNetConfig(Bottleneck, (3, 4, 23, 3), groups=64, width_per_group=4, paper=RESNEXT_PAPER),
}

register_variants(
    VARIANTS,
    lambda name, config: register_model(
        name, config.builder(), family=config.family, paper=config.paper, reference={"torchvision": name, "timm": name}
    ),
)
