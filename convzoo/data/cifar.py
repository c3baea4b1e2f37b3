"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009) in their standard python-pickle layout.

Read with torchvision's dataset classes from ``--data-dir`` (or $CONVZOO_DATA,
or the cache); downloaded from the official location, MD5-checked, when asked to.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import torch

from .download import download
from .idx import DataError
from .sources import cache_dir, candidate_dirs

ARCHIVES = {
    "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py"),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python"),
}


def _dataset_class(name: str):
    import torchvision.datasets as datasets

    return datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100


def find(name: str, data_dir: str | Path | None = None, *, download_missing: bool = False) -> Path:
    """The root directory containing ``cifar-10-batches-py`` (or ``cifar-100-python``)."""
    url, md5, folder = ARCHIVES[name]
    for directory in candidate_dirs(name, data_dir):
        if (directory / folder).is_dir():
            return directory
    if not download_missing:
        raise DataError(f"{name} not found: no {folder}/ in --data-dir, $CONVZOO_DATA or the cache; pass --download")
    root = Path(data_dir) if data_dir is not None else cache_dir() / name
    archive = download(url, root / Path(url).name, md5)
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root


def load_split(name: str, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """``(images (N, 3, 32, 32) uint8, labels (N,), class names)``."""
    try:
        dataset = _dataset_class(name)(str(root), train=split == "train", download=False)
    except (RuntimeError, OSError, EOFError, ValueError) as error:
        raise DataError(f"{name} in {root} is incomplete or corrupt ({error}); delete it and download again") from None
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()  # (N, H, W, C) -> (N, C, H, W)
    return images, torch.tensor(dataset.targets, dtype=torch.long), list(dataset.classes)
