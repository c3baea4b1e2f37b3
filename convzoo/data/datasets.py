"""Datasets by name, loaded into memory as uint8 tensors with their classes and statistics.

Names: ``fashion-mnist-mini`` (embedded), ``fashion-mnist``, ``cifar10``,
``cifar100``, and ``folder:PATH`` (or any existing directory) for an image
folder with ``train/`` and ``test/`` class sub-folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import DataError
from . import cifar, fashion_mnist, image_folder

NAMES = ("fashion-mnist-mini", "fashion-mnist", "cifar10", "cifar100", "folder:PATH")


@dataclass
class ImageDataset:
    """Train and test splits as uint8 ``(N, C, H, W)`` tensors, with what a model needs to know of them."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: list[str]
    mean: tuple[float, ...]  # per channel, on the 0–1 scale, from the train split
    std: tuple[float, ...]

    @property
    def channels(self) -> int:
        return self.train_images.shape[1]

    @property
    def image_size(self) -> int:
        return self.train_images.shape[-1]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images, on the 0–1 scale."""
    pixels = images.transpose(0, 1).reshape(images.shape[1], -1).double() / 255
    return tuple(pixels.mean(1).tolist()), tuple(pixels.std(1).tolist())


def _build(name, train, test, classes) -> ImageDataset:
    mean, std = channel_stats(train[0])
    return ImageDataset(name, train[0], train[1], test[0], test[1], classes, mean, std)


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    download: bool = False,
    folder_channels: int = 3,
    folder_size: int = 64,
) -> ImageDataset:
    """Load a dataset by name (see module docstring); errors are :class:`DataError` with a clear message."""
    if name == "fashion-mnist-mini":
        directory = fashion_mnist.MINI_DIR
        splits = [fashion_mnist.load_split(directory, s) for s in ("train", "test")]
        return _build(name, splits[0], splits[1], list(fashion_mnist.CLASSES))
    if name == "fashion-mnist":
        directory = fashion_mnist.find(data_dir, download_missing=download)
        splits = [fashion_mnist.load_split(directory, s) for s in ("train", "test")]
        return _build(name, splits[0], splits[1], list(fashion_mnist.CLASSES))
    if name in ("cifar10", "cifar100"):
        root = cifar.find(name, data_dir, download_missing=download)
        *train, classes = cifar.load_split(name, root, "train")
        *test, _ = cifar.load_split(name, root, "test")
        return _build(name, tuple(train), tuple(test), classes)
    if name.startswith("folder:") or Path(name).is_dir():
        root = Path(name.removeprefix("folder:"))
        train_dir, test_dir = image_folder.split_dirs(root)
        classes = image_folder.classes_of(train_dir)
        train = image_folder.load_folder(train_dir, classes, folder_channels, folder_size)
        test = image_folder.load_folder(test_dir, classes, folder_channels, folder_size)
        return _build(str(root), train, test, classes)
    raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
