# SPDX-License-Identifier: MIT
"""Test helpers for the equivalence tests: randomized reference weights and output comparison.

Imported by name (pytest puts this directory on the import path for test modules outside a package)."""

from __future__ import annotations

import torch
from torch import nn

import convzoo
from convzoo.weights.reference import build_reference

__all__ = ["build_reference", "converted_pair", "randomize_", "relative_error"]


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and non-trivial normalization statistics, so a wrong mapping cannot hide."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
        if (
            isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm))
            and module.weight is not None
        ):
            module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
            module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
    for param_name, param in model.named_parameters():
        if "gamma" in param_name or "layer_scale" in param_name:  # ConvNeXt layer scale starts at 1e-6
            param.copy_(torch.rand(param.shape, generator=generator) + 0.5)
    return model.eval()


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    """max |ours - reference| / max |reference|."""
    return ((ours - reference).abs().max() / reference.abs().max()).item()


def converted_pair(name: str, source: str, **model_kwargs):
    """(reference, ours) with the reference's random weights converted into ours, both in eval mode."""
    reference = randomize_(build_reference(name, source, **model_kwargs))
    converted = convzoo.convert_state_dict(reference.state_dict(), source=source, model_name=name, **model_kwargs)
    ours = convzoo.create_model(name, **model_kwargs)
    ours.load_state_dict(converted, strict=True)
    return reference, ours.eval()
