# SPDX-License-Identifier: MIT
"""Datasets (Fashion-MNIST embedded and full, CIFAR, image folders), batching and input adaptation."""

from .adapt import InputAdapter
from .datasets import NAMES, FolderOptions, ImageDataset, StreamingDataset, load_dataset
from .idx import DataError
from .loader import Augment, BatchLoader

__all__ = [
    "NAMES",
    "Augment",
    "BatchLoader",
    "DataError",
    "FolderOptions",
    "ImageDataset",
    "InputAdapter",
    "StreamingDataset",
    "load_dataset",
]
