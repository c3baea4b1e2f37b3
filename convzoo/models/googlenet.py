# SPDX-License-Identifier: MIT
"""GoogLeNet / Inception v1 (Szegedy et al. 2014), "Going Deeper with Convolutions", arXiv:1409.4842.

The inception module runs four branches in parallel and concatenates them:
1×1; 1×1 → 3×3; 1×1 → 5×5; 3×3 max-pool → 1×1. The 1×1 convolutions in front
of the large kernels reduce the channel count first, which is what makes the
module affordable: a 5×5 convolution from 480 to 48 channels on a 14×14 map
costs 112.9M multiply-adds, a 1×1 reduction to 16 channels first brings it
to 1.5M + 3.8M. Global average pooling replaces the fully-connected layers;
the whole network has under 7M parameters (VGG-16: 138M). Two auxiliary
classifiers on intermediate layers add gradient signal during training.

Deliberate differences from the paper (all as torchvision, so its weights load):

- The third branch uses a 3×3 convolution where the paper has 5×5 (a known
  quirk of the original port of the weights). ``paper_5x5=True`` restores the
  paper's 5×5 (padding 2); torchvision's weights then no longer fit that branch.
- Batch normalization (eps 1e-3) after every convolution (the paper predates it).
- Auxiliary heads pool adaptively to 4×4 (the paper: 5×5 average pool, stride 3,
  the same 4×4 at 224 px); with ``aux_logits=True`` they exist and, in training
  mode only, ``forward`` returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``.
- ``transform_input=True`` maps ImageNet-normalized input to the [-1, 1]
  scaling the released weights were trained with (torchvision sets it when
  loading them).

``small_input=True`` (for 28–64 px images): the stem is a 3×3 stride-1
convolution and the first max-pool is removed, so a 28×28 image reaches the
inception modules at 14×14 instead of 4×4.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..errors import OptionError
from ..layers import ClassifierHead, ConvNormAct
from ..registry import Paper, register_model
from .base import ZooModel

PAPER = Paper("Going Deeper with Convolutions", "1409.4842", 2014)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> ConvNormAct:
    return ConvNormAct(in_channels, out_channels, kernel_size, stride, norm_layer=_batch_norm)


class TransformInput(nn.Module):
    """ImageNet mean/std normalization → the (x - 0.5) / 0.5 scaling of the released weights (no parameters)."""

    def forward(self, x: Tensor) -> Tensor:
        mean = x.new_tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = x.new_tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5


class GoogLeNetOutputs(NamedTuple):
    logits: Tensor
    aux_logits2: Tensor
    aux_logits1: Tensor


class Inception(nn.Module):
    """Four parallel branches, concatenated along channels (Fig. 2b of the paper)."""

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3_reduce: int,
        ch3x3: int,
        ch5x5_reduce: int,
        ch5x5: int,
        pool_proj: int,
        *,
        paper_5x5: bool = False,
    ) -> None:
        super().__init__()
        self.branch1 = conv_bn_relu(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(
            conv_bn_relu(in_channels, ch3x3_reduce, 1),
            conv_bn_relu(ch3x3_reduce, ch3x3, 3),
        )
        self.branch3 = nn.Sequential(
            conv_bn_relu(in_channels, ch5x5_reduce, 1),
            conv_bn_relu(ch5x5_reduce, ch5x5, 5 if paper_5x5 else 3),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            conv_bn_relu(in_channels, pool_proj, 1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: Tensor) -> Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, 1)  # (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4×4 average pool, 1×1 conv to 128, FC 1024, dropout 0.7, FC."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.conv = conv_bn_relu(in_channels, 128, 1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(x)  # (N, C, H, W) -> (N, C, 4, 4)
        x = self.conv(x)
        x = torch.flatten(x, 1)  # (N, 128, 4, 4) -> (N, 2048)
        x = self.act(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)


class InceptionConfig(NamedTuple):
    """One row of the paper's Table 1: the channels of each branch of an inception module."""

    in_channels: int
    ch1x1: int
    ch3x3_reduce: int
    ch3x3: int
    ch5x5_reduce: int
    ch5x5: int
    pool_proj: int


# Table 1 of the paper, by group (3, 4, 5; a max-pool between groups) and module letter.
INCEPTION_3 = {
    "a": InceptionConfig(192, ch1x1=64, ch3x3_reduce=96, ch3x3=128, ch5x5_reduce=16, ch5x5=32, pool_proj=32),
    "b": InceptionConfig(256, ch1x1=128, ch3x3_reduce=128, ch3x3=192, ch5x5_reduce=32, ch5x5=96, pool_proj=64),
}
INCEPTION_4 = {
    "a": InceptionConfig(480, ch1x1=192, ch3x3_reduce=96, ch3x3=208, ch5x5_reduce=16, ch5x5=48, pool_proj=64),
    "b": InceptionConfig(512, ch1x1=160, ch3x3_reduce=112, ch3x3=224, ch5x5_reduce=24, ch5x5=64, pool_proj=64),
    "c": InceptionConfig(512, ch1x1=128, ch3x3_reduce=128, ch3x3=256, ch5x5_reduce=24, ch5x5=64, pool_proj=64),
    "d": InceptionConfig(512, ch1x1=112, ch3x3_reduce=144, ch3x3=288, ch5x5_reduce=32, ch5x5=64, pool_proj=64),
    "e": InceptionConfig(528, ch1x1=256, ch3x3_reduce=160, ch3x3=320, ch5x5_reduce=32, ch5x5=128, pool_proj=128),
}
INCEPTION_5 = {
    "a": InceptionConfig(832, ch1x1=256, ch3x3_reduce=160, ch3x3=320, ch5x5_reduce=32, ch5x5=128, pool_proj=128),
    "b": InceptionConfig(832, ch1x1=384, ch3x3_reduce=192, ch3x3=384, ch5x5_reduce=48, ch5x5=128, pool_proj=128),
}


class GoogLeNet(ZooModel):
    """Stem, nine inception modules in three groups, global average pooling, one linear layer."""

    def __init__(
        self,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        aux_logits: bool = False,
        paper_5x5: bool = False,
        transform_input: bool = False,
        drop_rate: float = 0.2,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        if transform_input and in_chans != 3:
            raise OptionError("transform_input applies to 3-channel (RGB) input only")
        self.transform_input = transform_input
        self.input_transform = TransformInput() if transform_input else nn.Identity()
        if small_input:
            self.conv1 = conv_bn_relu(in_chans, 64, 3)
            self.maxpool1: nn.Module = nn.Identity()
        else:
            self.conv1 = conv_bn_relu(in_chans, 64, 7, stride=2)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv_bn_relu(64, 64, 1)
        self.conv3 = conv_bn_relu(64, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for suffix, config in INCEPTION_3.items():
            self.add_module(f"inception3{suffix}", Inception(*config, paper_5x5=paper_5x5))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for suffix, config in INCEPTION_4.items():
            self.add_module(f"inception4{suffix}", Inception(*config, paper_5x5=paper_5x5))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        for suffix, config in INCEPTION_5.items():
            self.add_module(f"inception5{suffix}", Inception(*config, paper_5x5=paper_5x5))
        self.aux1 = InceptionAux(512, num_classes) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes) if aux_logits else None
        self.num_features = 1024
        self.head = ClassifierHead(1024, num_classes, drop_rate=drop_rate)
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision: truncated normal (std 0.01, cut at ±2) for convolutions and linear layers.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(module.weight, mean=0.0, std=0.01, a=-2, b=2)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _trunk(self, x: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        x = self.input_transform(x)
        x = self.maxpool1(self.conv1(x))  # (N, 64, H/4, W/4)
        x = self.conv3(self.conv2(x))
        x = self.maxpool2(x)  # (N, 192, H/8, W/8)
        x = self.inception3b(self.inception3a(x))
        x = self.maxpool3(x)  # (N, 480, H/16, W/16)
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.inception4e(x)
        x = self.maxpool4(x)  # (N, 832, H/32, W/32)
        x = self.inception5b(self.inception5a(x))  # (N, 1024, H/32, W/32)
        return x, aux1, aux2

    def forward_features(self, x: Tensor) -> Tensor:
        return self._trunk(x)[0]

    def feature_path(self) -> list[str]:
        """The trunk without the auxiliary classifiers (they branch off in training only)."""
        inceptions = [f"inception3{s}" for s in INCEPTION_3] + ["maxpool3"]
        inceptions += [f"inception4{s}" for s in INCEPTION_4] + ["maxpool4"] + [f"inception5{s}" for s in INCEPTION_5]
        return ["input_transform", "conv1", "maxpool1", "conv2", "conv3", "maxpool2", *inceptions]

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:  # type: ignore[override]
        x, aux1, aux2 = self._trunk(x)
        logits = self.forward_head(x)
        if aux1 is not None and aux2 is not None:
            return GoogLeNetOutputs(logits, aux2, aux1)
        return logits

    AUX_LOSS_WEIGHT = 0.3  # the paper, section 5: auxiliary losses added with weight 0.3

    def training_loss(self, output, loss_of):
        """Main loss plus 0.3 × each auxiliary classifier's (only while ``aux_logits`` heads exist)."""
        if not isinstance(output, tuple):
            return super().training_loss(output, loss_of)
        logits, *auxiliary = output
        return loss_of(logits) + self.AUX_LOSS_WEIGHT * sum(loss_of(aux) for aux in auxiliary), logits

    def reset_classifier(self, num_classes: int) -> None:
        super().reset_classifier(num_classes)
        if self.aux1 is not None and self.aux2 is not None:
            self.aux1.fc2 = nn.Linear(1024, num_classes)
            self.aux2.fc2 = nn.Linear(1024, num_classes)


register_model(
    "googlenet",
    GoogLeNet,
    family="googlenet",
    paper=PAPER,
    reference={"torchvision": "googlenet"},
    reference_kwargs={"torchvision": {"aux_logits": False, "init_weights": False}},
    reference_attributes=("aux_logits", "transform_input"),
)
