# SPDX-License-Identifier: MIT
"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747): 70,000 28×28 grey images, 10 classes.

``fashion-mnist`` is the full dataset, found in ``--data-dir``, ``$CONVZOO_DATA``,
Debian's ``dataset-fashion-mnist`` package (/usr/share/datasets/fashion-mnist)
or the cache, and downloaded from the official location (MD5-checked) when
asked to. ``fashion-mnist-mini`` is a balanced sample of it shipped inside the
package (500 train + 100 test images per class), so everything runs offline.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..download import cached_digest_of, digest_matches, verified_or_downloaded
from ..errors import DataError
from .idx import read_idx
from .sources import cache_dir, candidate_dirs

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
NUM_CLASSES = len(CLASSES)  # the classifier size of every model trained on it (compare, the lab)
OFFICIAL_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# MD5 of the official gzipped files (as published with the dataset)
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# sizes of the uncompressed official files: 16-byte header + 28·28 bytes per image, 8-byte header + 1 per label
OFFICIAL_RAW_SIZES = {
    "train-images-idx3-ubyte": 16 + 60_000 * 784,
    "train-labels-idx1-ubyte": 8 + 60_000,
    "t10k-images-idx3-ubyte": 16 + 10_000 * 784,
    "t10k-labels-idx1-ubyte": 8 + 10_000,
}
MINI_DIR = Path(__file__).parent / "assets" / "fashion-mnist-mini"


def _has_files(directory: Path) -> bool:
    return all(
        (directory / name).exists() or (directory / name[:-3]).exists() for pair in FILES.values() for name in pair
    )


def _resolve(directory: Path, name: str) -> Path:
    return directory / name if (directory / name).exists() else directory / name[:-3]


def load_split(directory: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (N, 1, 28, 28) uint8, labels (N,) int64)`` of one split stored in ``directory``."""
    images_file, labels_file = FILES[split]
    images = read_idx(_resolve(directory, images_file))
    labels = read_idx(_resolve(directory, labels_file))
    if images.dim() != 3 or labels.dim() != 1 or len(images) != len(labels):
        raise DataError(
            f"{directory}: {split} images {tuple(images.shape)} and labels {tuple(labels.shape)} do not pair up"
        )
    if int(labels.max()) >= len(CLASSES):
        raise DataError(f"{directory}: {split} labels go up to {int(labels.max())}, Fashion-MNIST has 10 classes")
    return images.unsqueeze(1), labels.long()


def verify(directory: Path, checksums: dict[str, str] | None = None) -> Path:
    """``directory`` if each file is the official one (MD5 of a ``.gz``, size of an uncompressed copy); else a
    one-line DataError naming the file, what it has and what was expected.

    ``checksums`` defaults to :data:`OFFICIAL_MD5` read at call time, so a test can stand other files in.
    """
    for name, md5 in (OFFICIAL_MD5 if checksums is None else checksums).items():
        path = directory / name
        if path.exists():
            actual = cached_digest_of(path, "md5")
            if not digest_matches(actual, md5):
                raise DataError(
                    f"{path} has MD5 {actual}, expected {md5}: not the official Fashion-MNIST file "
                    "(the embedded sample, or an altered, corrupt or incomplete copy); replace it or pass --download"
                )
            continue
        raw = directory / name[:-3]
        expected_size = OFFICIAL_RAW_SIZES.get(raw.name)
        if raw.exists() and expected_size is not None and raw.stat().st_size != expected_size:
            raise DataError(
                f"{raw} has {raw.stat().st_size:,} bytes, expected {expected_size:,}: not the official "
                "Fashion-MNIST file (the embedded sample, or a corrupt or incomplete copy); replace it or pass "
                "--download"
            )
    return directory


def fetch(destination: Path, base_url: str = OFFICIAL_URL, checksums: dict[str, str] = OFFICIAL_MD5) -> Path:
    """The four files in ``destination``, each verified against its MD5 (downloaded where missing)."""
    for name, md5 in checksums.items():
        verified_or_downloaded(base_url + name, destination / name, md5)
    return destination


def find(
    data_dir: str | Path | None = None, *, download_missing: bool = False, checksums: dict[str, str] | None = None
) -> Path:
    """The directory holding full Fashion-MNIST, verified; downloads to the cache (or ``data_dir``) if allowed.

    The first candidate directory that has the four files is verified and used, or refused with its
    reason: a wrong file where the user pointed is an error to see, not a reason to look elsewhere.
    """
    if data_dir is not None and not Path(data_dir).exists() and not download_missing:
        raise DataError(f"data directory {data_dir} does not exist")
    for directory in candidate_dirs("fashion-mnist", data_dir):
        if directory.is_dir() and _has_files(directory):
            return verify(directory, checksums)
    if download_missing:
        return fetch(
            Path(data_dir) if data_dir is not None else cache_dir() / "fashion-mnist",
            checksums=checksums or OFFICIAL_MD5,
        )
    raise DataError(
        "Fashion-MNIST not found (looked in --data-dir, $CONVZOO_DATA, /usr/share/datasets/fashion-mnist and "
        f"{cache_dir() / 'fashion-mnist'}); install Debian's dataset-fashion-mnist, or pass --download"
    )
