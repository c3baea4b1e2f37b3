# SPDX-License-Identifier: MIT
"""Datasets by name, with their classes and statistics, and the loaders that batch them.

Names: ``fashion-mnist-mini`` (embedded), ``fashion-mnist``, ``cifar10``,
``cifar100``, and ``folder:PATH`` (or any existing directory) for an image
folder with ``train/`` and ``test/`` class sub-folders.

Two kinds, one interface (``classes``, ``mean``/``std``, ``channels``,
``image_size``, ``train_loader()``/``test_loader()``): :class:`ImageDataset`
holds uint8 tensors in memory (small images); :class:`StreamingDataset` reads
an image folder from disk in ``DataLoader`` workers, chosen automatically for
images over 64 px or folders that would not fit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import DataError
from ..files import printable
from . import cifar, fashion_mnist, image_folder
from .adapt import MIN_STD
from .loader import Augment, BatchLoader
from .streaming import FolderFiles, FolderStream, StreamingLoader, estimate_stats, list_files

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
    skipped: dict[str, str] = field(default_factory=dict)  # unreadable files left out (path -> reason)
    notes: list[str] = field(default_factory=list)  # what is odd about the data but does not stop a run

    resize_size = None  # evaluation resizes nothing: the images already have their final size

    @property
    def channels(self) -> int:
        return self.train_images.shape[1]

    @property
    def image_size(self) -> int:
        return self.train_images.shape[-1]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def train_count(self) -> int:
        return len(self.train_images)

    def train_loader(self, batch_size: int, augment: Augment | None, *, workers: int = 0, **options) -> BatchLoader:
        """Shuffled, augmented batches; ``options``: ``seed``, ``drop_last``, ``rank``, ``world_size``.
        ``workers`` is for the streaming kind: in-memory batches need no decoding processes."""
        return BatchLoader(self.train_images, self.train_labels, batch_size, shuffle=True, augment=augment, **options)

    def test_loader(self, batch_size: int, *, workers: int = 0, **options) -> BatchLoader:
        return BatchLoader(self.test_images, self.test_labels, batch_size, **options)


@dataclass
class StreamingDataset:
    """An image folder read from disk each epoch (see :mod:`convzoo.data.streaming`)."""

    name: str
    train_files: FolderFiles
    test_files: FolderFiles
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: int  # side of the square crops the model sees
    resize_size: int  # evaluation: the shorter side is resized to this, then center-cropped to image_size
    channels: int = 3
    interpolation: str = "bilinear"
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def train_count(self) -> int:
        return len(self.train_files)

    def _interpolation(self):
        from torchvision.transforms import v2

        return v2.InterpolationMode(self.interpolation)

    def train_loader(self, batch_size: int, augment: Augment | None, **options) -> StreamingLoader:
        """Random-resized crops (and flips, if ``augment.flip``) of ``image_size``, decoded in workers."""
        from torchvision.transforms import v2

        augment = augment or Augment()
        steps = [v2.RandomResizedCrop(self.image_size, interpolation=self._interpolation(), antialias=True)]
        if augment.flip:
            steps.append(v2.RandomHorizontalFlip())
        stream = FolderStream(self.train_files, v2.Compose(steps), self.channels)
        return StreamingLoader(stream, batch_size, shuffle=True, erase_prob=augment.erase_prob, **options)

    def test_loader(self, batch_size: int, **options) -> StreamingLoader:
        """Resize the shorter side to ``resize_size``, center-crop ``image_size``: the evaluation transform."""
        from torchvision.transforms import v2

        transform = v2.Compose(
            [
                v2.Resize(self.resize_size, interpolation=self._interpolation(), antialias=True),
                v2.CenterCrop(self.image_size),
            ]
        )
        return StreamingLoader(FolderStream(self.test_files, transform, self.channels), batch_size, **options)


@dataclass(frozen=True)
class FolderOptions:
    """How to read an image folder: size, channels, streaming or in memory, and known statistics."""

    channels: int = 3
    image_size: int | None = None  # default: 64 in memory, 224 streamed
    resize_size: int | None = None  # evaluation resize before the center crop (default: image_size / 0.875)
    stream: str = "auto"  # "auto", "yes" or "no"
    mean: tuple[float, ...] | None = None  # e.g. the pretrained weights'; default: estimated from a sample
    std: tuple[float, ...] | None = None
    interpolation: str = "bilinear"

    MEMORY_LIMIT = 2 * 1024**3  # bytes of decoded uint8 images above which "auto" streams


def load_image_folder(root: Path, options: FolderOptions) -> ImageDataset | StreamingDataset:
    """An image folder, in memory or streamed as ``options.stream`` says (see :class:`FolderOptions`)."""
    train_dir, test_dir = image_folder.split_dirs(root)
    classes, notes = image_folder.folder_classes(train_dir, test_dir)
    train_files, test_files = list_files(train_dir, classes), list_files(test_dir, classes)
    notes += image_folder.check_files(train_files, test_files, classes)
    classes = [printable(name) for name in classes]  # labels to print, plot and store; a folder's bytes stay paths
    if options.stream not in ("auto", "yes", "no"):
        raise DataError(f"stream must be auto, yes or no, got {options.stream!r}")
    size = options.image_size
    decoded_bytes = (len(train_files) + len(test_files)) * options.channels * (size or 64) ** 2
    stream = options.stream == "yes" or (
        options.stream == "auto" and ((size or 64) > 64 or decoded_bytes > FolderOptions.MEMORY_LIMIT)
    )
    if not stream:
        skipped: dict[str, str] = {}
        size = size or 64
        train = image_folder.load_folder(train_files, options.channels, size, skipped)
        test = image_folder.load_folder(test_files, options.channels, size, skipped)
        mean, std = channel_stats(train[0]) if options.mean is None else (options.mean, options.std)
        return ImageDataset(str(root), *train, *test, classes, mean, std, skipped, notes)
    size = size or 224
    if options.mean is not None:
        mean, std = options.mean, options.std
    else:
        mean, std = estimate_stats(train_files, options.channels, side=size)  # at the size the model sees
    resize = options.resize_size or round(size / 0.875)  # 224 -> 256, the usual ImageNet ratio
    return StreamingDataset(
        str(root),
        train_files,
        test_files,
        classes,
        mean,
        std,
        size,
        resize,
        options.channels,
        options.interpolation,
        notes=notes,
    )


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images, on the 0–1 scale (the std at least ``MIN_STD``)."""
    pixels = images.transpose(0, 1).reshape(images.shape[1], -1).double() / 255
    return tuple(pixels.mean(1).tolist()), tuple(pixels.std(1).clamp_min(MIN_STD).tolist())


def _build(name, train, test, classes) -> ImageDataset:
    mean, std = channel_stats(train[0])
    return ImageDataset(name, train[0], train[1], test[0], test[1], classes, mean, std)


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    download: bool = False,
    folder: FolderOptions = FolderOptions(),
) -> ImageDataset | StreamingDataset:
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
        return load_image_folder(Path(name.removeprefix("folder:")), folder)
    raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
