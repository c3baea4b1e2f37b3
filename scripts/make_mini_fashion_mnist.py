# SPDX-License-Identifier: MIT
"""Write the embedded Fashion-MNIST sample (``fashion-mnist-mini``) from the full dataset.

A balanced random sample, train and test splits kept apart: the first
``--train-per-class`` / ``--test-per-class`` images of each class in a seeded
permutation of each split. Files use the official IDX format (gzipped), so the
same reader loads both, and the download tests can serve them.

    python scripts/make_mini_fashion_mnist.py --source /usr/share/datasets/fashion-mnist
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from convzoo.data.idx import read_idx, write_idx

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def balanced_indices(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    chosen = [order[labels[order] == c][:per_class] for c in range(int(labels.max()) + 1)]
    return torch.cat(chosen).sort().values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--out", type=Path, default=Path("convzoo/data/assets/fashion-mnist-mini"))
    parser.add_argument("--train-per-class", type=int, default=500)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for split, per_class in (("train", args.train_per_class), ("test", args.test_per_class)):
        images_file, labels_file = FILES[split]
        images, labels = read_idx(args.source / images_file), read_idx(args.source / labels_file)
        keep = balanced_indices(labels, per_class, args.seed)
        write_idx(args.out / images_file, images[keep])
        write_idx(args.out / labels_file, labels[keep])
        print(split, len(keep), "images", torch.bincount(labels[keep]).tolist())


if __name__ == "__main__":
    main()
