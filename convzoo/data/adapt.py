# SPDX-License-Identifier: MIT
"""Bring uint8 batches to what a model needs: float, the model's channels and minimum size, normalized."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import OptionError

RGB_TO_GREY = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma
# The smallest standard deviation a dataset's statistics may give a channel, on the 0-1 scale: one 8-bit level.
# A channel that is constant in the training images (a green channel that is 10 in every image) has std 0, and
# dividing by it made the first loss NaN; flooring it at one level leaves such a channel near 0 and every real one
# (std of 0.1-0.3 in photos) as it is.
MIN_STD = 1 / 255


class InputAdapter(nn.Module):
    """uint8 ``(N, C, H, W)`` → normalized float for the model.

    Grey data for a 3-channel model is replicated; RGB data for a 1-channel
    model is converted to luma. Images smaller than ``min_size`` are resized
    up (bilinear). Normalization uses the dataset's mean and std, which the
    checkpoint stores so evaluation and prediction apply the same.
    """

    def __init__(self, data_channels: int, model_channels: int, mean, std, min_size: int = 1) -> None:
        super().__init__()
        if data_channels not in (1, 3) and data_channels != model_channels:
            raise OptionError(f"cannot map {data_channels}-channel data to a {model_channels}-channel model")
        self.data_channels, self.model_channels, self.min_size = data_channels, model_channels, min_size
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().div_(255)
        x = (x - self.mean) / self.std
        if self.data_channels == 1 and self.model_channels != 1:
            x = x.expand(-1, self.model_channels, -1, -1)
        elif self.data_channels == 3 and self.model_channels == 1:
            weights = x.new_tensor(RGB_TO_GREY).view(1, 3, 1, 1)
            x = (x * weights).sum(1, keepdim=True)
        if min(x.shape[-2:]) < self.min_size:
            x = F.interpolate(
                x,
                size=(max(self.min_size, x.shape[-2]), max(self.min_size, x.shape[-1])),
                mode="bilinear",
                align_corners=False,
            )
        return x
