"""The model families; importing this package registers every variant."""

from . import alexnet, cifar_resnet, googlenet, resnet, vgg  # noqa: F401
from .base import ZooModel

__all__ = ["ZooModel"]
