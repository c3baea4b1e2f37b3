# SPDX-License-Identifier: MIT
"""Batch mixing: MixUp (Zhang et al. 2018, arXiv:1710.09412) and CutMix (Yun et al. 2019, arXiv:1905.04899).

Both blend pairs of images in a batch and their labels in proportion, so the targets become soft: a
regularizer against memorizing labels. The transforms are torchvision's (``v2.MixUp``, ``v2.CutMix``); with
both options on, each batch gets one of them at random, as timm's ``Mixup`` does with ``switch_prob`` 0.5.
"""

from __future__ import annotations

import torch

from .config import TrainConfig


def mix(images: torch.Tensor, labels: torch.Tensor, config: TrainConfig, num_classes: int):
    """Mixup/CutMix from torchvision on the batch; labels become soft targets."""
    if not (config.mixup or config.cutmix):
        return images, labels
    from torchvision.transforms import v2

    choices = [t for t, a in ((v2.MixUp, config.mixup), (v2.CutMix, config.cutmix)) if a]
    alphas = [a for a in (config.mixup, config.cutmix) if a]
    transform = v2.RandomChoice([t(alpha=a, num_classes=num_classes) for t, a in zip(choices, alphas, strict=True)])
    return transform(images, labels)
