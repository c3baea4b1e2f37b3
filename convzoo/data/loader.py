# SPDX-License-Identifier: MIT
"""Mini-batches from in-memory uint8 tensors, with augmentation applied to whole batches.

On two CPU cores a per-sample pipeline (a ``DataLoader`` calling torchvision
transforms image by image) spends more time in Python than the network spends
on small images; cropping and flipping a whole batch with a few tensor
operations costs almost nothing (``benchmarks/data_pipeline.py`` measures both).

Determinism: epoch ``e`` shuffles with a generator seeded by ``(seed, e)`` and
batch ``b`` augments with one seeded by ``(seed, e, b)``. A run resumed in the
middle of an epoch therefore sees exactly the batches the uninterrupted run saw.
With several processes each rank takes every ``world``-th index of the same
permutation (the rule of ``DistributedSampler``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import OptionError


@dataclass(frozen=True)
class Augment:
    """Batch augmentation: random crop after zero padding, horizontal flip, random erasing."""

    crop_padding: int = 0  # pixels of zero padding before a random crop back to size (0: off)
    flip: bool = False
    erase_prob: float = 0.0  # probability per image of erasing one random rectangle (Zhong et al. 2017)


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Pad by ``padding`` and crop every image at its own random offset, in one gather."""
    n, _, h, w = images.shape
    padded = F.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    rows = (torch.arange(h)[None, :] + dy[:, None])[:, :, None]  # (N, H, 1)
    cols = (torch.arange(w)[None, :] + dx[:, None])[:, None, :]  # (N, 1, W)
    batch = torch.arange(n)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (N, C, H, W)


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = torch.rand(images.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def random_erase(images: torch.Tensor, prob: float, generator: torch.Generator) -> torch.Tensor:
    """Zero one random rectangle (2–33% of the area) in a ``prob`` fraction of the images."""
    n, _, h, w = images.shape
    area = torch.empty(n).uniform_(0.02, 0.33, generator=generator) * h * w
    ratio = torch.exp(torch.empty(n).uniform_(-1.2, 1.2, generator=generator))  # log-uniform in [0.3, 3.3]
    eh = (area * ratio).sqrt().clamp(1, h).long()
    ew = (area / ratio).sqrt().clamp(1, w).long()
    top = (torch.rand(n, generator=generator) * (h - eh + 1)).long()
    left = (torch.rand(n, generator=generator) * (w - ew + 1)).long()
    ys, xs = torch.arange(h)[None, :], torch.arange(w)[None, :]
    inside = ((ys >= top[:, None]) & (ys < (top + eh)[:, None]))[:, :, None] & (
        (xs >= left[:, None]) & (xs < (left + ew)[:, None])
    )[:, None, :]
    chosen = torch.rand(n, generator=generator) < prob
    mask = (inside & chosen[:, None, None])[:, None]  # (N, 1, H, W)
    return images.masked_fill(mask, 0)


def mixed_seed(*seed_parts: int) -> int:
    """One seed from several integers (run seed, epoch, batch, ...), the same in every process."""
    seed = 0
    for part in seed_parts:
        seed = (seed * 1_000_003 + int(part)) % (2**63 - 1)
    return seed


def _generator(*seed_parts: int) -> torch.Generator:
    return torch.Generator().manual_seed(mixed_seed(*seed_parts))


def epoch_order(
    count: int, *, shuffle: bool, seed: int, epoch: int, rank: int = 0, world_size: int = 1
) -> torch.Tensor:
    """This process's sample indices for one epoch: a permutation seeded by ``(seed, epoch)``, then every
    ``world_size``-th index from ``rank`` on, padded by wrapping around as ``DistributedSampler`` pads."""
    order = torch.randperm(count, generator=_generator(seed, epoch)) if shuffle else torch.arange(count)
    if world_size > 1:
        padded = -(-count // world_size) * world_size
        order = torch.cat([order, order[: padded - count]])[rank::world_size]
    return order


def batch_count(count: int, batch_size: int, world_size: int, drop_last: bool) -> int:
    per_rank = -(-count // world_size)
    return per_rank // batch_size if drop_last else -(-per_rank // batch_size)


class BatchLoader:
    """Iterate ``(images uint8, labels)`` batches of one epoch; ``len()`` is the number of batches."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = False,
        augment: Augment | None = None,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size < 1:
            raise OptionError(f"batch size must be at least 1, got {batch_size}")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.seed, self.drop_last = seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return batch_count(len(self.images), self.batch_size, self.world_size, self.drop_last)

    @property
    def skipped(self) -> dict[str, str]:
        """Files that could not be read (none: in-memory data was decoded when it was loaded)."""
        return {}

    def batches(self, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The epoch's batches from batch ``start`` on (to resume mid-epoch)."""
        order = epoch_order(
            len(self.images),
            shuffle=self.shuffle,
            seed=self.seed,
            epoch=self.epoch,
            rank=self.rank,
            world_size=self.world_size,
        )
        for index in range(start, len(self)):
            chosen = order[index * self.batch_size : (index + 1) * self.batch_size]
            images, labels = self.images[chosen], self.labels[chosen]
            if self.augment is not None:
                images = self._augment(images, _generator(self.seed, self.epoch, index, self.rank))
            yield images, labels

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.batches()

    def _augment(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        augment = self.augment
        if augment.crop_padding:
            images = random_crop(images, augment.crop_padding, generator)
        if augment.flip:
            images = random_flip(images, generator)
        if augment.erase_prob:
            images = random_erase(images, augment.erase_prob, generator)
        return images
