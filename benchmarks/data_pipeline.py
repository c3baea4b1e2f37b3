# SPDX-License-Identifier: MIT
"""The batched in-memory pipeline against torchvision's per-sample DataLoader, on full Fashion-MNIST.

    python benchmarks/data_pipeline.py

Both produce normalized float batches of 128 with random crop (padding 2) and horizontal flip:
- torchvision: a ``Dataset`` over the same uint8 tensors with ``transforms.v2`` (RandomCrop,
  RandomHorizontalFlip, ToDtype, Normalize) applied image by image, through ``DataLoader``
  with 0 and 2 worker processes;
- convzoo: ``BatchLoader`` (crop and flip on whole batches) and ``InputAdapter``.
One epoch (60,000 images) each, after a warm-up batch. Writes ``benchmarks/results/data_pipeline.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from convzoo.data import Augment, BatchLoader, InputAdapter, load_dataset
from convzoo.provenance import provenance


class PerSample(Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(self.images[index]), self.labels[index]


def images_per_second(batches) -> float:
    iterator = iter(batches)
    next(iterator)  # warm-up (and worker start-up)
    count, start = 0, time.perf_counter()
    for images, _ in iterator:
        count += len(images)
    return count / (time.perf_counter() - start)


def main() -> None:
    record = provenance(allow_dirty="--allow-dirty" in sys.argv)  # the only option
    from torchvision.transforms import v2

    data = load_dataset("fashion-mnist")
    transform = v2.Compose(
        [
            v2.RandomCrop(28, padding=2),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(data.mean, data.std),
        ]
    )
    rows = {}
    for workers in (0, 2):
        loader = DataLoader(
            PerSample(data.train_images, data.train_labels, transform),
            batch_size=128,
            shuffle=True,
            num_workers=workers,
        )
        rows[f"torchvision DataLoader, {workers} workers"] = images_per_second(loader)
        print(rows, flush=True)
    adapter = InputAdapter(1, 1, data.mean, data.std)
    batched = BatchLoader(data.train_images, data.train_labels, 128, shuffle=True, augment=Augment(2, True))
    rows["convzoo BatchLoader + InputAdapter"] = images_per_second((adapter(x), y) for x, y in batched)
    for name, value in rows.items():
        print(f"{name:40s} {value:12,.0f} images/s")
    out = Path(__file__).parent / "results" / "data_pipeline.json"
    out.write_text(
        json.dumps(
            {**record, "torch": torch.__version__, "images_per_s": {k: round(v) for k, v in rows.items()}}, indent=2
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
