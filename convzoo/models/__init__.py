# SPDX-License-Identifier: MIT
"""The model families; importing this package registers every variant."""

from . import (  # noqa: F401
    alexnet,
    cifar_resnet,
    convnext,
    efficientnet,
    efficientnet_v2,
    googlenet,
    mobilenet,
    mobilenet_v3,
    regnet,
    resnet,
    vgg,
    xception,
)
from .base import ZooModel

__all__ = ["ZooModel"]
