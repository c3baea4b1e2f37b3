# SPDX-License-Identifier: MIT
"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), the lecture's baseline.

"ImageNet Classification with Deep Convolutional Neural Networks", NeurIPS 2012.
The layout is torchvision's, which follows the single-GPU variant of
"One weird trick for parallelizing convolutional neural networks"
(Krizhevsky 2014, arXiv:1404.5997): 64/192/384/256/256 channels instead of the
paper's 96/256/384/384/256, and no local response normalization.

Deliberate differences and limits:

- The default layout needs at least 63×63 inputs (as torchvision's): a
  stride-4 11×11 stem and three 3×3/2 max-pools leave nothing of a smaller image.
- ``small_input=True`` (for 28–64 px images): the stem becomes a 3×3 stride-1
  convolution and the first max-pool is removed; everything else, including
  the 4096-wide fully-connected head, is unchanged.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..layers import ClassifierHead, init_weights
from ..registry import Paper, register_model
from .base import ZooModel
from .features import sequential_children

PAPER = Paper("ImageNet Classification with Deep Convolutional Neural Networks", "1404.5997", 2012)


class AlexNet(ZooModel):
    """Five convolutions, three max-pools, three fully-connected layers."""

    def __init__(
        self,
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        drop_rate: float = 0.5,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        stem: list[nn.Module]
        if small_input:
            stem = [nn.Conv2d(in_chans, 64, 3, 1, 1), nn.ReLU(inplace=True)]
        else:
            stem = [nn.Conv2d(in_chans, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2)]
        self.features = nn.Sequential(
            *stem,
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
        )
        self.num_features = 256
        hidden = nn.Sequential(
            nn.Dropout(drop_rate),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(drop_rate),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
        )
        self.head = ClassifierHead(256, num_classes, pool_size=6, pre_logits=hidden, hidden_features=4096)
        init_weights(self)

    def feature_path(self) -> list[str]:
        return sequential_children(self, "features")

    def forward_features(self, x: Tensor) -> Tensor:
        return self.features(x)


register_model(
    "alexnet",
    AlexNet,
    family="alexnet",
    paper=PAPER,
    reference={"torchvision": "alexnet"},
    min_input_size=63,
)
