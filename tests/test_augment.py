# SPDX-License-Identifier: MIT
"""Training augmentation against what each transform is defined to do, and what is applied at train vs eval time.

Random crop: zero padding by p, then a window at an offset drawn from all (2p + 1)² positions. Flip: a mirror
left to right (torchvision's ``RandomHorizontalFlip``), half the images. A streamed image's crop is seeded by
the image, so N ranks crop as one process does. Training batches are augmented as the options say; test
batches never are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from convzoo.data import load_dataset
from convzoo.data.loader import epoch_order, random_crop, random_flip
from convzoo.data.streaming import StreamingLoader
from convzoo.runtime import Context
from convzoo.training import TrainConfig
from convzoo.training.setup import build_loaders


def _distinct_images(count: int, side: int = 6) -> torch.Tensor:
    """Pixels 1..255 in random order: no zero, so a window of the zero-padded image is found at one offset."""
    generator = torch.Generator().manual_seed(7)
    return torch.randint(1, 256, (count, 2, side, side), dtype=torch.uint8, generator=generator)


def test_random_crop_is_a_window_of_the_zero_padded_image_at_any_of_the_offsets():
    padding, images = 2, _distinct_images(400)
    crops = random_crop(images, padding, torch.Generator().manual_seed(0))
    padded = F.pad(images, (padding,) * 4)
    side, offsets = images.shape[-1], []
    for image, crop in zip(padded, crops, strict=True):
        found = [
            (dy, dx)
            for dy in range(2 * padding + 1)
            for dx in range(2 * padding + 1)
            if torch.equal(image[:, dy : dy + side, dx : dx + side], crop)
        ]
        assert len(found) == 1, found
        offsets.append(found[0])
    every = {(dy, dx) for dy in range(2 * padding + 1) for dx in range(2 * padding + 1)}
    assert set(offsets) == every  # 400 draws over 25 offsets: each is met (a miss has odds of about 1e-6)


def test_random_flip_mirrors_left_to_right_about_half_the_images():
    images = _distinct_images(400)
    flipped = random_flip(images, torch.Generator().manual_seed(0))
    mirrored = torch.stack([torch.from_numpy(image.numpy()[:, :, ::-1].copy()) for image in images])
    same = [torch.equal(a, b) for a, b in zip(flipped, images, strict=True)]
    mirror = [torch.equal(a, b) for a, b in zip(flipped, mirrored, strict=True)]
    assert all(s != m for s, m in zip(same, mirror, strict=True))  # each image kept or mirrored, nothing else
    assert 160 <= sum(mirror) <= 240  # Binomial(400, 1/2): 200 ± 40 is over 5 standard deviations


def _crop_seeds(world_size: int, epoch: int) -> dict[int, int]:
    """Image index -> the seed its crop and flip are drawn from, over all ranks of ``world_size``."""
    seeds: dict[int, int] = {}
    for rank in range(world_size):
        loader = StreamingLoader(list(range(10)), 2, shuffle=True, seed=3, rank=rank, world_size=world_size)
        loader.set_epoch(epoch)
        for batch in loader.loader.batch_sampler:
            for index, seed in batch:
                assert seeds.setdefault(index, seed) == seed, f"image {index} gets two crops in one epoch"
    return seeds


def test_a_streamed_images_crop_is_the_same_whatever_the_rank_that_reads_it():
    """Two ranks, each reading half of every batch, train on the crops one process would draw."""
    one, two, three = _crop_seeds(1, epoch=1), _crop_seeds(2, epoch=1), _crop_seeds(3, epoch=1)
    assert sorted(one) == list(range(10)) and one == two == three
    assert len(set(one.values())) == 10  # a crop of its own per image
    assert all(a != b for a, b in zip(one.values(), _crop_seeds(1, epoch=2).values(), strict=True))


def test_training_batches_are_augmented_as_configured_and_test_batches_never_are(tmp_path):
    """With no padding and no flip the training batches are the images in the epoch's order, untouched;
    with the defaults they differ; test batches are the test split in order, whatever the options."""
    data = load_dataset("fashion-mnist-mini")
    for options, augmented in (({"crop_padding": 0, "flip": False}, False), ({}, True)):
        config = TrainConfig(model="cifar_resnet20", batch_size=64, **options).resolved(28, "fashion-mnist-mini")
        train_loader, test_loader = build_loaders(config, data, Context(), workers=0)
        train_loader.set_epoch(1)
        images, labels = next(iter(train_loader))
        chosen = epoch_order(data.train_count, shuffle=True, seed=0, epoch=1)[:64]
        assert torch.equal(labels, data.train_labels[chosen])
        assert torch.equal(images, data.train_images[chosen]) is not augmented
        test_images = torch.cat([batch for batch, _ in test_loader])
        assert torch.equal(test_images, data.test_images)
