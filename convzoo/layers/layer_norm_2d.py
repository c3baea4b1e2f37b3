# SPDX-License-Identifier: MIT
"""LayerNorm over the channels of an NCHW map, as ConvNeXt needs (Liu et al. 2022, arXiv:2201.03545).

``nn.LayerNorm`` normalizes the last dimension; ConvNeXt's stem and
downsampling layers hold channels-first tensors, so the map is permuted to
channels-last, normalized, and permuted back.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class LayerNorm2d(nn.LayerNorm):
    """``nn.LayerNorm`` over dimension 1 of an ``(N, C, H, W)`` tensor."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
