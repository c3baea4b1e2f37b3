# SPDX-License-Identifier: MIT
"""VGG (Simonyan & Zisserman 2014), "Very Deep Convolutional Networks for Large-Scale Image Recognition".

arXiv:1409.1556. Only 3×3 convolutions: two stacked 3×3 layers see a 5×5
window and three see 7×7, with fewer weights (2·9·C² and 3·9·C² against 25·C²
and 49·C²) and more non-linearities. Five max-pools halve the map; three
fully-connected layers (4096, 4096, classes) hold most of the 138M parameters
of VGG-16. The ``_bn`` variants add batch normalization after each convolution
(not in the paper; torchvision's).

``small_input=True`` (for 28–64 px images): the first max-pool is removed
(five halvings would leave nothing of a 28×28 image) and the head becomes
global average pooling and one linear layer from 512 features, without the
4096-wide layers, as VGG is usually trained on CIFAR.
"""

from __future__ import annotations

from functools import partial

from torch import Tensor, nn

from ..layers import ClassifierHead, init_weights
from ..registry import Paper, register_model
from .base import ZooModel, register_variants
from .features import sequential_children

PAPER = Paper("Very Deep Convolutional Networks for Large-Scale Image Recognition", "1409.1556", 2014)

POOL = "M"


class VGG(ZooModel):
    """A stack of 3×3 convolutions (``layers``: channel counts, ``"M"`` for a 2×2 max-pool)."""

    def __init__(
        self,
        layers: list[int | str],
        num_classes: int = 1000,
        in_chans: int = 3,
        *,
        batch_norm: bool = False,
        drop_rate: float = 0.5,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        if small_input:
            layers = list(layers)
            layers.remove(POOL)  # the first max-pool
        self.features = self._make_features(layers, in_chans, batch_norm)
        self.num_features = 512
        if small_input:
            self.head = ClassifierHead(512, num_classes, drop_rate=drop_rate)
        else:
            hidden = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(drop_rate),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
            )
            self.head = ClassifierHead(
                512, num_classes, pool_size=7, pre_logits=hidden, hidden_features=4096, drop_rate=drop_rate
            )
        init_weights(self)

    @staticmethod
    def _make_features(layers: list[int | str], in_channels: int, batch_norm: bool) -> nn.Sequential:
        modules: list[nn.Module] = []
        for layer in layers:
            if layer == POOL:
                modules.append(nn.MaxPool2d(2, 2))
                continue
            modules.append(nn.Conv2d(in_channels, int(layer), 3, padding=1))
            if batch_norm:
                modules.append(nn.BatchNorm2d(int(layer)))
            modules.append(nn.ReLU(inplace=True))
            in_channels = int(layer)
        return nn.Sequential(*modules)

    def feature_path(self) -> list[str]:
        return sequential_children(self, "features")

    def forward_features(self, x: Tensor) -> Tensor:
        return self.features(x)


# Table 1 of the paper: configurations A, B, D and E.
CONFIGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


VARIANTS = {  # each configuration with and without batch norm (torchvision's vgg*_bn)
    name + suffix: partial(VGG, layers, batch_norm=batch_norm)
    for name, layers in CONFIGS.items()
    for suffix, batch_norm in (("", False), ("_bn", True))
}

register_variants(
    VARIANTS,
    lambda name, builder: register_model(
        name, builder, family="vgg", paper=PAPER, reference={"torchvision": name, "timm": name}
    ),
)
