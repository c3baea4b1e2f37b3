# SPDX-License-Identifier: MIT
"""Deep residual and plain networks for small images (CIFAR-style), from two papers.

- He et al. 2015, "Deep Residual Learning for Image Recognition" (arXiv:1512.03385), §4.2:
  a 3×3 convolution to 16 channels, then three stages of ``n`` basic blocks at
  16/32/64 channels on 32×32/16×16/8×8 maps, global average pooling, linear;
  depth ``6n + 2`` (20, 32, 44, 56, 110, 1202). Shortcuts are identities; where
  the channel count doubles, the input is subsampled and the new channels are
  zeros ("option A", no extra parameters). ``shortcut="B"`` uses 1×1
  projections instead. The ``cifar_plain*`` twins drop the shortcuts: the
  paper's Fig. 6 shows them getting *worse* with depth (degradation), while the
  residual nets get better.
- He et al. 2016, "Identity Mappings in Deep Residual Networks" (arXiv:1603.05027):
  pre-activation bottleneck blocks (BN → ReLU → conv, three times) keep the
  shortcut path a pure identity from input to output; depth ``9n + 2``
  (164, 1001) with 64/128/256 output channels and 1×1 projections where the
  shape changes, applied after the block's first BN-ReLU as in the authors' code.

Initialization: in nets deeper than 110 layers (and whenever
``zero_init_residual=True``) the last batch norm of each residual branch (for
pre-activation blocks, the last convolution) starts at zero, so every block
starts as the identity (Goyal et al. 2017, arXiv:1706.02677, §5.1). Without it
the output variance of a 1202-layer net doubles hundreds of times before
training starts and overflows to infinity in evaluation mode. Shallower nets
keep the He init, which trains faster in the first epochs; plain nets always do.

``norm_layer=None`` builds them without batch normalization (the convolutions
then have biases): the lecture lab's vanishing-gradient experiment compares them.

These networks are built for small inputs already: ``small_input`` is accepted
and changes nothing; they take any input from 8×8 up.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import OptionError
from ..layers import ClassifierHead, ConvNormAct, init_weights
from ..registry import Paper, register_model
from .base import ZooModel, register_variants

RESNET_PAPER = Paper("Deep Residual Learning for Image Recognition", "1512.03385", 2015)
PREACT_PAPER = Paper("Identity Mappings in Deep Residual Networks", "1603.05027", 2016)


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by ``stride`` and append zero channels; no parameters."""

    def __init__(self, extra_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels = extra_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))  # (N, C, H, W) -> (N, C + extra, H, W)


def make_shortcut(kind: str, in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """``None`` for plain nets; identity, zero-padding (A) or projection (B) for residual ones."""
    if kind == "none":
        return None
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    if kind == "A":
        return ZeroPadShortcut(out_channels - in_channels, stride)
    if kind == "B":
        return ConvNormAct(in_channels, out_channels, 1, stride, act_layer=None)
    raise OptionError(f"shortcut must be 'A', 'B' or 'none', got {kind!r}")


class CifarBasicBlock(nn.Module):
    """Two 3×3 convolutions; with a shortcut unless the net is plain."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, shortcut: str, norm_layer: type | None = nn.BatchNorm2d
    ) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(in_channels, out_channels, 3, stride, norm_layer=norm_layer)
        self.conv2 = ConvNormAct(out_channels, out_channels, 3, norm_layer=norm_layer, act_layer=None)
        self.shortcut = make_shortcut(shortcut, in_channels, out_channels, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.shortcut(x) if self.shortcut is not None else None
        x = self.conv1(x)
        x = self.conv2(x)
        if shortcut is not None:
            x += shortcut
        return self.act(x)


class PreActBottleneck(nn.Module):
    """BN-ReLU-1×1, BN-ReLU-3×3, BN-ReLU-1×1 (×4 channels); the shortcut stays an identity."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, shortcut: str = "B") -> None:
        super().__init__()
        width = out_channels // 4
        self.preact = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True))
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn_act2 = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn_act3 = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        needs_projection = stride != 1 or in_channels != out_channels
        self.projection = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False) if needs_projection else None

    def forward(self, x: Tensor) -> Tensor:
        preactivated = self.preact(x)
        shortcut = self.projection(preactivated) if self.projection is not None else x
        x = self.conv1(preactivated)
        x = self.conv2(self.bn_act2(x))
        x = self.conv3(self.bn_act3(x))
        return x + shortcut


class CifarResNet(ZooModel):
    """3×3 stem to 16 channels, three stages (stride 1, 2, 2), global pool, linear."""

    def __init__(
        self,
        depth: int,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        block: str = "basic",
        shortcut: str = "A",
        zero_init_residual: bool | None = None,
        norm_layer: type | None = nn.BatchNorm2d,  # None: no normalization (the lecture lab's vanishing gradients)
        drop_rate: float = 0.0,
        small_input: bool = True,
    ) -> None:
        super().__init__()
        preact = block == "preact_bottleneck"
        if preact and norm_layer is not nn.BatchNorm2d:
            raise OptionError("pre-activation bottleneck nets are built with batch norm only")
        per_block, widths = (9, (64, 128, 256)) if preact else (6, (16, 32, 64))
        if (depth - 2) % per_block != 0:
            raise OptionError(f"depth must be {per_block}n + 2 for {block} blocks, got {depth}")
        blocks_per_stage = (depth - 2) // per_block
        if preact:
            self.stem: nn.Module = nn.Conv2d(in_chans, 16, 3, 1, 1, bias=False)
        else:
            self.stem = ConvNormAct(in_chans, 16, 3, norm_layer=norm_layer)
        in_channels = 16
        stages = []
        for index, out_channels in enumerate(widths):
            blocks: list[nn.Module] = []
            for block_index in range(blocks_per_stage):
                stride = 2 if index > 0 and block_index == 0 else 1
                if preact:
                    blocks.append(PreActBottleneck(in_channels, out_channels, stride))
                else:
                    blocks.append(CifarBasicBlock(in_channels, out_channels, stride, shortcut, norm_layer))
                in_channels = out_channels
            stages.append(nn.Sequential(*blocks))
        self.stage1, self.stage2, self.stage3 = stages
        # pre-activation nets end with the BN-ReLU that the last block's output has not had yet
        self.final_act = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True)) if preact else nn.Identity()
        self.num_features = in_channels
        self.head = ClassifierHead(in_channels, num_classes, drop_rate=drop_rate)
        init_weights(self)
        if zero_init_residual is None:
            zero_init_residual = depth > 110
        if zero_init_residual and shortcut != "none":
            self._zero_init_residual_branches()

    def _zero_init_residual_branches(self) -> None:
        for module in self.modules():
            if isinstance(module, CifarBasicBlock):  # the branch's last BN scale, or its conv without a norm
                last = module.conv2[-1]  # (conv, norm) or just (conv,)
                nn.init.zeros_(last.weight)
            elif isinstance(module, PreActBottleneck):
                nn.init.zeros_(module.conv3.weight)

    def feature_path(self) -> list[str]:
        return ["stem", "stage1", "stage2", "stage3", "final_act"]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, 16, H, W)
        x = self.stage1(x)
        x = self.stage2(x)  # (N, 2·w, H/2, W/2)
        x = self.stage3(x)  # (N, 4·w, H/4, W/4)
        return self.final_act(x)


class Variant(NamedTuple):
    depth: int  # weighted layers
    block: str  # "basic" or "preact_bottleneck"
    shortcut: str  # "A" (zero-padded identity), "B" (1x1 projection when the shape changes) or "none" (plain net)
    paper: Paper


VARIANTS = {
    **{
        f"cifar_resnet{d}": Variant(d, block="basic", shortcut="A", paper=RESNET_PAPER)
        for d in (20, 32, 44, 56, 110, 1202)
    },
    **{
        f"cifar_plain{d}": Variant(d, block="basic", shortcut="none", paper=RESNET_PAPER) for d in (20, 32, 44, 56, 110)
    },
    **{
        f"cifar_preact_resnet{d}": Variant(d, block="preact_bottleneck", shortcut="B", paper=PREACT_PAPER)
        for d in (164, 1001)
    },
}

register_variants(
    VARIANTS,
    lambda name, variant: register_model(
        name,
        partial(CifarResNet, variant.depth, block=variant.block, shortcut=variant.shortcut),
        family="cifar_resnet",
        paper=variant.paper,
        default_input_size=(3, 32, 32),
        min_input_size=8,
        small_min_input_size=8,
        native_small_input=True,
    ),
)
