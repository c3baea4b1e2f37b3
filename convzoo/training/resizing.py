# SPDX-License-Identifier: MIT
"""Progressive resizing: the first epochs train on smaller images, the last ones at full size.

A convolution's cost grows with the square of the image side, so a 16-pixel epoch of 28-pixel images
costs about a third of a full one. Early in training the network learns coarse shapes that small
images still show; by the end it must see the full resolution it will be tested at. The side grows
linearly from ``start`` at the first epoch to the full size at ``until`` of the epochs, and stays
there (the ramp of fast.ai's DAWNBench ImageNet runs, Howard 2018, and of FFCV, Leclerc et al. 2023,
arXiv:2306.12517). Batch norm's running statistics are those of the full-size epochs by the time the
model is evaluated, as long as the last epoch is at full size, which ``until`` < 1 guarantees.

Images are shrunk whole (bilinear, antialiased), not cropped, so an epoch sees every pixel's content.
The side is a function of the epoch alone, so a resumed run trains at the same sizes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import TrainConfig

SIDE_STEP = 4  # sides are rounded to a multiple of this (small images; FFCV rounds ImageNet's to 32)


def training_side(epoch: int, epochs: int, full: int, start: int | None, until: float) -> int:
    """The image side of ``epoch`` (0-based) in a run of ``epochs``: ``start`` growing to ``full`` by ``until``."""
    if not start or start >= full:
        return full
    ramp_epochs = math.floor(until * epochs)  # 0: the ramp is shorter than an epoch, so there is none
    if epoch >= ramp_epochs:
        return full
    side = start + (full - start) * epoch / ramp_epochs
    return min(full, max(start, SIDE_STEP * round(side / SIDE_STEP)))


def epoch_side(config: TrainConfig, epoch: int, full: int) -> int | None:
    """The side training images of ``full`` side are shrunk to in ``epoch``, or None: as loaded."""
    if not config.progressive_resize:
        return None
    side = training_side(epoch, config.epochs, full, config.progressive_resize, config.progressive_until)
    return side if side < full else None


def resize_batch(images: torch.Tensor, side: int) -> torch.Tensor:
    """``images`` (N, C, H, W) shrunk to ``side`` on their shorter edge, keeping the aspect ratio (never enlarged)."""
    height, width = images.shape[-2:]
    if min(height, width) <= side:
        return images
    scale = side / min(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)
