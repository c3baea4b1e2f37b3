# SPDX-License-Identifier: MIT
"""Batch-norm statistics in training: recomputed before evaluation ("precise BN"), or frozen while probing."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ..runtime import autocast


@torch.no_grad()
def recompute_batch_norm(
    model: nn.Module, batches: Iterable[torch.Tensor], amp_dtype: torch.dtype | None, *, channels_last: bool = False
) -> None:
    """Exact batch-norm statistics of the current weights over ``batches`` (a cumulative average).

    After a very short training the running averages lag behind weights that still move fast,
    and evaluation-mode accuracy falls far below training-mode accuracy. Recomputing the
    statistics with a cumulative average fixes that (Wu & Johnson 2021, arXiv:2105.07576, §3).
    The batches are on the model's device; the engine and the short runs both come here.
    """
    from torch.optim.swa_utils import update_bn

    if channels_last:
        batches = (b.contiguous(memory_format=torch.channels_last) for b in batches)
    parameter = next(model.parameters(), None)
    with autocast(parameter.device if parameter is not None else torch.device("cpu"), amp_dtype):
        update_bn(batches, model)


def freeze_batch_norm(model: nn.Module) -> None:
    """Every batch norm of ``model`` in eval mode: it normalizes with, and keeps, its running statistics."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
