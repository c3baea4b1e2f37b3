# SPDX-License-Identifier: MIT
"""The interface every zoo model shares.

``forward_features`` returns the last feature map, ``forward_head`` turns it
into logits (or the pre-logits embedding), ``reset_classifier`` swaps the final
layer, and ``training_loss`` turns a training-mode output into the loss (a model
with auxiliary classifiers adds their terms). Analysis, training, benchmarks and
export rely on exactly these names and never on a family's own output format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from torch import Tensor, nn

from ..layers import ClassifierHead

Row = TypeVar("Row")


def register_variants(variants: Mapping[str, Row], register: Callable[[str, Row], Any]) -> None:
    """Call ``register(name, row)`` for each row of a family's variant table (no loop variables left at module
    level)."""
    for name, row in variants.items():
        register(name, row)


class ZooModel(nn.Module):
    """Base class: subclasses define ``forward_features``, ``self.head`` and ``self.num_features``."""

    head: ClassifierHead
    num_features: int  # channels of the forward_features output

    def forward_features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def feature_path(self) -> list[str]:
        """Dotted names of the modules that, applied in order, compute ``forward_features`` (or its stages up to
        where backbones tap it); :mod:`convzoo.models.features` cuts it into stages by resolution."""
        raise NotImplementedError

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: Tensor) -> Tensor:
        x = self.forward_features(x)
        return self.forward_head(x)

    def training_loss(self, output: Any, loss_of: Callable[[Tensor], Tensor]) -> tuple[Tensor, Tensor]:
        """``(loss, main logits)`` from what ``forward`` returned in training mode; ``loss_of(logits)`` is the
        criterion."""
        return loss_of(output), output

    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self, num_classes: int) -> None:
        """A new, freshly initialized final layer for ``num_classes`` classes (0: no classifier)."""
        self.head.reset(num_classes)

    @property
    def num_classes(self) -> int:
        fc = self.head.fc
        return fc.out_features if isinstance(fc, nn.Linear) else 0
