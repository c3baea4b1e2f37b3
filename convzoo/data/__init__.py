"""Datasets (Fashion-MNIST embedded and full, CIFAR, image folders), batching and input adaptation."""

from .adapt import InputAdapter
from .datasets import NAMES, ImageDataset, load_dataset
from .idx import DataError
from .loader import Augment, BatchLoader

__all__ = ["NAMES", "Augment", "BatchLoader", "DataError", "ImageDataset", "InputAdapter", "load_dataset"]
