# SPDX-License-Identifier: MIT
"""Stochastic depth (Huang et al. 2016, arXiv:1603.09382).

During training each sample skips a residual branch with probability ``p``
(the surviving branches are scaled by 1/(1-p) so the expectation is
unchanged); at evaluation the branch always runs. Deep networks train faster
and generalize better, as if an ensemble of shallower ones.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import OptionError


class DropPath(nn.Module):
    """Zero a residual branch per sample with probability ``p`` while training."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise OptionError(f"drop path probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def drop_path_rates(total_rate: float, num_blocks: int, *, include_last: bool = False) -> list[float]:
    """The linear rule: block ``i`` of ``n`` drops with ``total_rate · i / n``.

    EfficientNet (torchvision, timm) divides by ``n``; ConvNeXt divides by
    ``n - 1`` so that the last block reaches ``total_rate`` (``include_last``).
    """
    denominator = max(num_blocks - 1, 1) if include_last else max(num_blocks, 1)
    return [total_rate * i / denominator for i in range(num_blocks)]
