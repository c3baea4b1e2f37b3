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
# MD5 of the uncompressed official files: the content, whatever gzip made of it. Debian's dataset-fashion-mnist
# package ships the official content recompressed (its .gz files have other MD5s); both these and the .gz digests
# above are the values other projects publish for the official release.
OFFICIAL_RAW_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
# the same for MNIST's handwritten digits: the files have Fashion-MNIST's names and sizes, so only the content
# tells them apart, and a mix-up is worth naming
MNIST_RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
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


def verify(
    directory: Path, checksums: dict[str, str] | None = None, raw_checksums: dict[str, str] | None = None
) -> Path:
    """``directory`` if each file holds the official content; else a one-line DataError naming the file, the digest
    it has and the one expected (and MNIST, when that is what it holds).

    A ``.gz`` file passes with the official ``.gz`` MD5, or when it inflates to the official content (a recompressed
    copy: Debian's package); an uncompressed copy passes with the official content's MD5. Digests are cached by
    path, size and mtime, so a dataset is hashed once. ``checksums`` and ``raw_checksums`` default to
    :data:`OFFICIAL_MD5` and :data:`OFFICIAL_RAW_MD5` read at call time, so a test can stand other files in.
    """
    checksums = OFFICIAL_MD5 if checksums is None else checksums
    raw_checksums = OFFICIAL_RAW_MD5 if raw_checksums is None else raw_checksums
    for name, md5 in checksums.items():
        path, raw_name = directory / name, name.removesuffix(".gz")
        expected = raw_checksums.get(raw_name)
        if path.exists():
            if digest_matches(cached_digest_of(path, "md5"), md5):
                continue  # the official file itself
            content = cached_digest_of(path, "md5", inflated=True)
            if expected is not None and digest_matches(content, expected):
                continue  # the official content, compressed again
            raise DataError(_not_official(path, content, expected or md5, raw_name))
        raw = directory / raw_name
        if raw.exists() and expected is not None:
            content = cached_digest_of(raw, "md5")
            if not digest_matches(content, expected):
                raise DataError(_not_official(raw, content, expected, raw_name))
    return directory


def _not_official(path: Path, content: str, expected: str, raw_name: str) -> str:
    what = (
        "these are MNIST's handwritten digits, not Fashion-MNIST"
        if content == MNIST_RAW_MD5.get(raw_name)
        else "not the official Fashion-MNIST file (the embedded sample, or an altered, corrupt or incomplete copy)"
    )
    return f"{path} holds content with MD5 {content}, expected {expected}: {what}; replace it or pass --download"


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
