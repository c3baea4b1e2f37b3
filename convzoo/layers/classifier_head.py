# SPDX-License-Identifier: MIT
"""The classifier head every zoo model ends with: pool → flatten → (hidden layers) → dropout → linear.

Global average pooling (Lin et al. 2013, "Network In Network", arXiv:1312.4400;
used by GoogLeNet) replaces the large fully-connected layers of AlexNet/VGG and
makes the head independent of the input size. The older families keep their
fully-connected stack as ``pre_logits`` after an adaptive pool to a fixed grid.
"""

from __future__ import annotations

from torch import Tensor, nn


class ClassifierHead(nn.Module):
    """Adaptive average pool, flatten, optional ``pre_logits`` layers, dropout, final linear layer.

    ``forward(x, pre_logits=True)`` stops before dropout and the final layer and
    returns the embedding a new classifier would be trained on.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        pool_size: int | tuple[int, int] = 1,
        pre_logits: nn.Module | None = None,
        hidden_features: int | None = None,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.flatten = nn.Flatten(1)
        self.pre_logits = pre_logits if pre_logits is not None else nn.Identity()
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.in_features = hidden_features if hidden_features is not None else in_channels
        self.fc = self._make_fc(num_classes)

    def _make_fc(self, num_classes: int) -> nn.Module:
        return nn.Linear(self.in_features, num_classes) if num_classes > 0 else nn.Identity()

    def reset(self, num_classes: int) -> None:
        """Replace the final layer with a freshly initialized one (``0`` removes it)."""
        self.fc = self._make_fc(num_classes)

    def forward(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        x = self.pool(x)
        x = self.flatten(x)  # (N, C, h, w) -> (N, C·h·w)
        x = self.pre_logits(x)
        if pre_logits:
            return x
        x = self.dropout(x)
        return self.fc(x)
