# SPDX-License-Identifier: MIT
"""Image folders streamed from disk: decoded and cropped in ``DataLoader`` workers, batch by batch.

Photos for fine-tuning come in every size and rarely fit in memory once decoded
(10,000 photos at 224 px are 1.5 GB as uint8). So each epoch reads every file
again, in ``workers`` processes, while the model trains on the batch before:

- training: ``RandomResizedCrop`` to ``image_size`` and a horizontal flip
  (torchvision ``transforms.v2``, the ImageNet recipe of Szegedy et al. 2015);
- evaluation: resize the shorter side to ``resize_size``, center-crop ``image_size``.

Batches stay uint8 until the model's ``InputAdapter`` normalizes them, like the
in-memory datasets, so the two kinds are interchangeable for the engine.

Determinism: the order of an epoch is :func:`~convzoo.data.loader.epoch_order`
(the in-memory rule, sharded across torchrun ranks), and every image's crop
and flip come from a seed of ``(seed, epoch, image)``. Resuming mid-epoch
therefore replays the same batches, whatever the number of workers, and N
torchrun processes train on exactly the crops one process would.

Bad files never stop a run: a file that cannot be decoded (see
:mod:`convzoo.data.decode`) is left out of its batch, and :attr:`StreamingLoader.skipped`
names it with the reason. If more than half of the files tried are unreadable,
the folder is not what the user thinks it is, and :class:`DataError` says so.
"""

from __future__ import annotations

import os
import random
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

from ..errors import DataError
from ..files import kind_of, printable
from ..stopping import WorkerSignals
from .adapt import MIN_STD
from .decode import EXTENSIONS, UnreadableImage, decode_file
from .loader import batch_count, epoch_order, mixed_seed, random_erase

MOSTLY_BROKEN = 0.5  # above this fraction of unreadable files (once MIN_TRIED were tried), stop with an error
MIN_TRIED = 16


@dataclass
class FolderFiles:
    """The image files of one split, with their class index, and what was not taken."""

    root: Path
    paths: list[str]
    labels: list[int]
    ignored: list[str] = field(default_factory=list)  # files without an image extension
    linked_skipped: list[str] = field(default_factory=list)  # linked folders already listed, relative to root
    # entries with an image extension that are not regular files (a FIFO, socket, device, dangling link): reading
    # one could block for ever, so they are never opened; each as "path (what it is)"
    not_regular: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)


DirKey = tuple[int, int]  # (st_dev, st_ino): one directory, whatever path or link reaches it


def list_files(directory: Path, classes: list[str]) -> FolderFiles:
    """Every image file under ``directory/<class>/`` (any depth), sorted, labelled by class index.

    Linked folders are followed (a photo library linked in is a common layout), but each real directory is
    listed once, at its own place: a link to a directory that is listed anyway (a loop back to a parent or to
    the split itself, a class folder linked into another class) is skipped and named in ``linked_skipped``.
    Following every link turned 48 files into 1,968 through one loop, and labelled dogs as cats through a link
    (``cats/loop -> ..`` reached ``dogs/`` from inside ``cats/``). Only regular files are taken: a FIFO or a
    device with an image's name would block the reader, so it goes to ``not_regular``, named.
    """
    files = FolderFiles(directory, [], [])
    class_dirs = [(label, directory / name) for label, name in enumerate(classes) if (directory / name).is_dir()]
    real = _real_directories(directory, [path for _, path in class_dirs])
    seen: set[DirKey] = set()
    for label, class_dir in class_dirs:
        key = _directory_key(str(class_dir))
        if key in seen or os.path.islink(class_dir) and key in real:  # a class folder listed under another name
            files.linked_skipped.append(printable(os.path.relpath(class_dir, directory)))
            continue
        seen.add(key)
        for root, dirs, names in os.walk(class_dir, followlinks=True):
            dirs[:] = _directories_to_walk(root, sorted(dirs), real, seen, files)
            for file_name in sorted(names):
                path = os.path.join(root, file_name)
                if os.path.splitext(file_name)[1].lower() not in EXTENSIONS:
                    if not file_name.startswith("."):
                        files.ignored.append(path)
                    continue
                kind = _file_kind(path)
                if kind is None:
                    files.paths.append(path)
                    files.labels.append(label)
                else:
                    files.not_regular.append(f"{printable(os.path.relpath(path, directory))} ({kind})")
    return files


def _file_kind(path: str) -> str | None:
    """``None`` for a regular file (a link to one included), else what it is: a FIFO, a dangling link, ..."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return "a dangling link" if os.path.islink(path) else (error.strerror or "unreadable").lower()
    return None if stat.S_ISREG(mode) else kind_of(mode)


def _directory_key(path: str) -> DirKey | None:
    try:
        status = os.stat(path)  # follows links: the directory itself
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _real_directories(directory: Path, class_dirs: list[Path]) -> set[DirKey]:
    """The directories with a place of their own: every one reached under the class folders without following a
    link, and the split folder itself with its parents (a link back to one of those is a loop)."""
    real = {_directory_key(str(path)) for path in (directory, *directory.absolute().parents)}
    real.update(_directory_key(str(path)) for path in class_dirs if not os.path.islink(path))
    for class_dir in class_dirs:
        if os.path.islink(class_dir):
            continue
        for root, dirs, _ in os.walk(class_dir):
            paths = [os.path.join(root, name) for name in dirs]
            real.update(_directory_key(path) for path in paths if not os.path.islink(path))
    real.discard(None)
    return real


def _through_link(path: str, top: Path) -> bool:
    """Whether ``path`` (below ``top``) is reached through a symbolic link: it or one of its folders below top."""
    current = Path(path)
    while current != top and current != current.parent:
        if current.is_symlink():
            return True
        current = current.parent
    return False


def _directories_to_walk(root: str, dirs: list[str], real: set[DirKey], seen: set[DirKey], files: FolderFiles):
    """The sub-folders of ``root`` not listed yet; one reached through a link that has a place of its own (listed
    there, or a folder above: a loop) goes to the note instead."""
    kept = []
    for name in dirs:
        path = os.path.join(root, name)
        key = _directory_key(path)
        if key is None or key in seen or (key in real and _through_link(path, files.root)):
            if key is not None:
                files.linked_skipped.append(printable(os.path.relpath(path, files.root)))
            continue
        seen.add(key)
        kept.append(name)
    return kept


class Sample(NamedTuple):
    image: Tensor | None  # None: the file could not be decoded
    label: int
    path: str
    error: str | None


class FolderStream(torch.utils.data.Dataset):
    """``stream[(index, seed)]``: file ``index`` decoded and transformed with randomness from ``seed``."""

    def __init__(self, files: FolderFiles, transform, channels: int = 3) -> None:
        self.files, self.transform, self.channels = files, transform, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: tuple[int, int]) -> Sample:
        index, seed = key
        path, label = self.files.paths[index], self.files.labels[index]
        try:
            image = decode_file(path, self.channels)
        except UnreadableImage as error:
            return Sample(None, label, path, str(error))
        with torch.random.fork_rng(devices=[]):  # transforms.v2 draws from torch's global generator
            torch.manual_seed(seed)
            return Sample(self.transform(image), label, path, None)


class Batch(NamedTuple):
    images: Tensor  # uint8 (N, C, H, W), the readable files only
    labels: Tensor
    failures: list[tuple[str, str]]  # (path, reason) of the unreadable ones


def collate(samples: list[Sample]) -> Batch:
    good = [s for s in samples if s.image is not None]
    images = torch.stack([s.image for s in good]) if good else torch.empty(0, dtype=torch.uint8)
    labels = torch.tensor([s.label for s in good], dtype=torch.long)
    return Batch(images, labels, [(s.path, s.error) for s in samples if s.image is None])


class _EpochBatches:
    """The batch sampler: lists of ``(index, seed)`` of the current epoch's batches from ``start`` on."""

    def __init__(self, loader: StreamingLoader) -> None:
        self.loader = loader

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        loader = self.loader
        order = epoch_order(
            len(loader.stream),
            shuffle=loader.shuffle,
            seed=loader.seed,
            epoch=loader.epoch,
            rank=loader.rank,
            world_size=loader.world_size,
        ).tolist()
        size = loader.batch_size
        for batch in range(loader.start, len(loader)):
            positions = range(batch * size, min((batch + 1) * size, len(order)))
            # an image's crop depends on the run's seed, the epoch and the image, not on the rank that reads it:
            # one process and N processes (N ranks, 1/N of each batch each) train on the same crops
            yield [(order[p], mixed_seed(loader.seed, loader.epoch, order[p])) for p in positions]

    def __len__(self) -> int:
        return len(self.loader) - self.loader.start


class StreamingLoader:
    """The streaming counterpart of :class:`~convzoo.data.loader.BatchLoader`: same methods, same order rule."""

    def __init__(
        self,
        stream: FolderStream,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        workers: int = 0,
        erase_prob: float = 0.0,
        pin_memory: bool = False,
    ) -> None:
        self.stream, self.batch_size, self.shuffle, self.seed = stream, batch_size, shuffle, seed
        self.drop_last, self.rank, self.world_size, self.erase_prob = drop_last, rank, world_size, erase_prob
        self.epoch, self.start = 0, 0
        self.skipped: dict[str, str] = {}  # path -> reason, every unreadable file met so far
        self.tried = self.failed = 0
        self.worker_signals = WorkerSignals() if workers > 0 else None
        self.loader = torch.utils.data.DataLoader(
            stream,
            batch_sampler=_EpochBatches(self),
            num_workers=workers,
            collate_fn=collate,
            persistent_workers=workers > 0,
            prefetch_factor=2 if workers > 0 else None,
            pin_memory=pin_memory,
            worker_init_fn=self.worker_signals,  # a SIGTERM to the whole process group stops the run cleanly
        )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return batch_count(len(self.stream), self.batch_size, self.world_size, self.drop_last)

    def batches(self, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """The epoch's batches from batch ``start`` on; unreadable files are left out and recorded."""
        self.start = start
        for index, batch in enumerate(self.loader, start):
            self._record(batch)
            images = batch.images
            if self.erase_prob and len(images):
                generator = torch.Generator().manual_seed(mixed_seed(self.seed, self.epoch, index, self.rank))
                images = random_erase(images, self.erase_prob, generator)
            yield images, batch.labels

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return self.batches()

    def _record(self, batch: Batch) -> None:
        self.tried += len(batch.labels) + len(batch.failures)
        self.failed += len(batch.failures)
        self.skipped.update(batch.failures)
        if self.tried >= MIN_TRIED and self.failed > MOSTLY_BROKEN * self.tried:
            raise DataError(mostly_broken(self.stream.files.root, self.failed, self.tried, self.skipped))


def describe_skipped(skipped: dict[str, str], count: int = 3) -> str:
    """The first ``count`` unreadable files by name, with why: ``"a.jpg (truncated file); b.png (...)"``."""
    return "; ".join(f"{printable(Path(path).name)} ({why})" for path, why in list(skipped.items())[:count])


def mostly_broken(root: Path, failed: int, tried: int, skipped: dict[str, str]) -> str:
    return (
        f"{failed} of {tried} image files tried under {root} could not be decoded ({describe_skipped(skipped)}); "
        "check that the folder holds images and that they were copied completely"
    )


def estimate_stats(
    files: FolderFiles, channels: int = 3, *, sample: int = 128, side: int = 64, seed: int = 0
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (0–1 scale) from ``sample`` random files, each resized to a ``side`` px shorter
    side: a few seconds, instead of a pass over the whole folder. Use the training size for ``side``: downsizing
    smooths fine detail, so the std depends on it (the mean does not)."""
    from torchvision.transforms.v2 import functional as TF

    chosen = random.Random(seed).sample(range(len(files)), min(sample, len(files)))
    sums = torch.zeros(3, channels, dtype=torch.float64)  # count, sum, sum of squares
    failures: dict[str, str] = {}
    for index in chosen:
        try:
            image = TF.resize(decode_file(files.paths[index], channels), side, antialias=True)
        except UnreadableImage as error:
            failures[files.paths[index]] = str(error)
            continue
        pixels = image.reshape(channels, -1).double() / 255
        sums += torch.stack([torch.full((channels,), float(pixels.shape[1])), pixels.sum(1), (pixels**2).sum(1)])
    if len(chosen) >= MIN_TRIED and len(failures) > MOSTLY_BROKEN * len(chosen) or len(failures) == len(chosen):
        raise DataError(mostly_broken(files.root, len(failures), len(chosen), failures))
    mean = sums[1] / sums[0]
    std = (sums[2] / sums[0] - mean**2).clamp_min(0).sqrt().clamp_min(MIN_STD)
    return tuple(mean.tolist()), tuple(std.tolist())
