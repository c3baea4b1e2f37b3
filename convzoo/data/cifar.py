# SPDX-License-Identifier: MIT
"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009) in their standard python-pickle layout.

Read from ``--data-dir`` (or $CONVZOO_DATA, or the cache); downloaded from the
official location, MD5-checked, when asked to. The pickles are read here rather
than through ``torchvision.datasets.CIFAR10``, whose constructor insists on the
MD5 of every official batch file: that rules out tests with small synthetic
files and turns any problem into "Dataset not found or corrupted".
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from ..download import verified_or_downloaded
from ..errors import DataError
from ..files import NotRegularFile, open_input
from .sources import cache_dir, candidate_dirs

ARCHIVES = {
    "cifar10": (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
    ),
    "cifar100": (
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python",
    ),
}


SPLIT_FILES = {
    "cifar10": {
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "meta": ("batches.meta", "label_names", "labels"),
    },
    "cifar100": {"train": ["train"], "test": ["test"], "meta": ("meta", "fine_label_names", "fine_labels")},
}


class _CifarUnpickler(pickle.Unpickler):
    """Admits only what CIFAR batch files hold: plain containers, bytes, numbers and numpy arrays.

    ``pickle.load`` would call any function a file names; a planted "dataset" could run code. The
    official files reference exactly these globals (numpy's array reconstruction and its dtype).
    """

    ALLOWED: ClassVar[frozenset] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused global {module}.{name}: a CIFAR batch file holds only arrays and lists")


def _unpickle(path: Path) -> dict:
    try:
        with open_input(path) as file:
            batch = _CifarUnpickler(file, encoding="latin1").load()
    except FileNotFoundError:
        raise DataError(f"missing CIFAR file {path}") from None
    except NotRegularFile as error:
        raise DataError(f"CIFAR file {path} is {error.strerror}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise DataError(
            f"{path} is corrupt or not a CIFAR batch file ({error}); delete it and download again"
        ) from None
    if not isinstance(batch, dict):
        raise DataError(f"{path} is not a CIFAR batch file (a {type(batch).__name__}, not a dict)")
    return batch


def find(name: str, data_dir: str | Path | None = None, *, download_missing: bool = False) -> Path:
    """The root directory containing ``cifar-10-batches-py`` (or ``cifar-100-python``)."""
    url, md5, folder = ARCHIVES[name]
    for directory in candidate_dirs(name, data_dir):
        if (directory / folder).is_dir():
            return directory
    if not download_missing:
        raise DataError(f"{name} not found: no {folder}/ in --data-dir, $CONVZOO_DATA or the cache; pass --download")
    root = Path(data_dir) if data_dir is not None else cache_dir() / name
    archive = verified_or_downloaded(url, root / Path(url).name, md5)
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(root, filter="data")  # refuses absolute paths and links out of root
        except TypeError:  # Python releases before the extraction filters (3.10.11 and older)
            tar.extractall(root)
    return root


def _checked_labels(labels, count: int, num_classes: int, path: Path) -> list[int]:
    """The batch's labels as ints, one per image, each a class index; otherwise a :class:`DataError` naming ``path``."""
    array = np.asarray(labels) if len(labels) else np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise DataError(f"{path} is corrupt: its labels are not a list of integers; delete it and download again")
    if len(array) != count:
        raise DataError(f"{path} is corrupt: {len(array)} labels for {count} images; delete it and download again")
    outside = array[(array < 0) | (array >= num_classes)]
    if len(outside):
        raise DataError(
            f"{path} has labels outside 0..{num_classes - 1} (e.g. {int(outside[0])}), but the dataset names "
            f"{num_classes} classes: the file is corrupt or from another dataset; delete it and download again"
        )
    return array.tolist()


def load_split(name: str, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """``(images (N, 3, 32, 32) uint8, labels (N,), class names)``."""
    folder = root / ARCHIVES[name][2]
    files = SPLIT_FILES[name]
    meta_file, names_key, labels_key = files["meta"]
    classes = list(_unpickle(folder / meta_file)[names_key])
    images, labels = [], []
    for part in files[split]:
        batch = _unpickle(folder / part)
        try:
            images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))  # rows are R, G, B planes
            labels.extend(_checked_labels(batch[labels_key], len(images[-1]), len(classes), folder / part))
        except (KeyError, ValueError, TypeError) as error:
            raise DataError(f"{folder / part} is not a CIFAR batch ({error})") from None
    return torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.long), classes
