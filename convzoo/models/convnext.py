# SPDX-License-Identifier: MIT
"""ConvNeXt (Liu et al. 2022), "A ConvNet for the 2020s", arXiv:2201.03545.

A ResNet modernized step by step towards a vision Transformer: a 4×4 stride-4
"patchify" stem, stage depths 3:3:9:3, depthwise 7×7 convolutions, an inverted
bottleneck (×4) built from linear layers on channels-last tensors, GELU, one
LayerNorm per block instead of BatchNorm, separate 2×2 stride-2 downsampling
layers, per-channel layer scale (initialized to 1e-6) and stochastic depth.
As torchvision's ``convnext_*`` (so its weights load); the layer scale is
applied in channels-last form as in the authors' code (torchvision stores it
as ``(C, 1, 1)``; the conversion reshapes it).

Stochastic depth: block i of n drops with ``drop_path_rate · i / (n - 1)``
(defaults 0.1 / 0.4 / 0.5 / 0.5 for T / S / B / L, as torchvision).

``small_input=True`` (for 28–64 px images): the 4×4 stride-4 stem becomes a
3×3 stride-1 convolution (downsampling 8× instead of 32×).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..layers import ClassifierHead, DropPath, LayerNorm2d, drop_path_rates, init_weights
from ..registry import Paper, register_model
from .base import ZooModel, register_variants
from .features import sequential_children

PAPER = Paper("A ConvNet for the 2020s", "2201.03545", 2022)

LAYER_NORM_EPS = 1e-6


class ConvNeXtBlock(nn.Module):
    """Depthwise 7×7 → LayerNorm → Linear ×4 → GELU → Linear → layer scale, plus shortcut."""

    def __init__(self, dim: int, drop_path_rate: float = 0.0, layer_scale_init: float = 1e-6) -> None:
        super().__init__()
        self.layer_scale = nn.Parameter(torch.full((dim,), layer_scale_init))
        self.depthwise = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * dim, dim)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.depthwise(x)
        x = x.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
        x = self.norm(x)
        x = self.fc1(x)  # (N, H, W, 4C)
        x = self.act(x)
        x = self.fc2(x)  # (N, H, W, C)
        x = self.layer_scale * x
        x = x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        return shortcut + self.drop_path(x)


class ConvNeXt(ZooModel):
    """Patchify stem, four stages separated by LayerNorm + 2×2/2 conv, global pool, LayerNorm, linear."""

    def __init__(
        self,
        depths: tuple[int, int, int, int],
        dims: tuple[int, int, int, int],
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        stem_conv = nn.Conv2d(in_chans, dims[0], 3, 1, 1) if small_input else nn.Conv2d(in_chans, dims[0], 4, 4)
        self.stem = nn.Sequential(stem_conv, LayerNorm2d(dims[0], eps=LAYER_NORM_EPS))
        rates = iter(drop_path_rates(drop_path_rate, sum(depths), include_last=True))
        stages: list[nn.Module] = []
        for index, (depth, dim) in enumerate(zip(depths, dims, strict=True)):
            if index > 0:
                stages.append(
                    nn.Sequential(
                        LayerNorm2d(dims[index - 1], eps=LAYER_NORM_EPS), nn.Conv2d(dims[index - 1], dim, 2, 2)
                    )
                )
            stages.append(nn.Sequential(*[ConvNeXtBlock(dim, next(rates)) for _ in range(depth)]))
        self.stages = nn.Sequential(*stages)
        self.num_features = dims[-1]
        norm = nn.LayerNorm(dims[-1], eps=LAYER_NORM_EPS)
        self.head = ClassifierHead(dims[-1], num_classes, pre_logits=norm, drop_rate=drop_rate)
        init_weights(self, trunc_normal_std=0.02)

    def feature_path(self) -> list[str]:
        return ["stem", *sequential_children(self, "stages")]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.stem(x)  # (N, C0, H/4, W/4)
        return self.stages(x)  # (N, C3, H/32, W/32)


class Variant(NamedTuple):
    depths: tuple[int, int, int, int]  # blocks per stage
    dims: tuple[int, int, int, int]  # channels per stage
    drop_path_rate: float  # the default stochastic depth of the official training recipe


VARIANTS = {
    "convnext_tiny": Variant(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), drop_path_rate=0.1),
    "convnext_small": Variant(depths=(3, 3, 27, 3), dims=(96, 192, 384, 768), drop_path_rate=0.4),
    "convnext_base": Variant(depths=(3, 3, 27, 3), dims=(128, 256, 512, 1024), drop_path_rate=0.5),
    "convnext_large": Variant(depths=(3, 3, 27, 3), dims=(192, 384, 768, 1536), drop_path_rate=0.5),
}

register_variants(
    VARIANTS,
    lambda name, variant: register_model(
        name,
        partial(ConvNeXt, variant.depths, variant.dims, drop_path_rate=variant.drop_path_rate),
        family="convnext",
        paper=PAPER,
        reference={"torchvision": name, "timm": name},
        uses_drop_path=True,
    ),
)
