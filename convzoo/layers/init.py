# SPDX-License-Identifier: MIT
"""Weight initialization shared by the families.

He et al. 2015 ("Delving Deep into Rectifiers", arXiv:1502.01852) initialization
for convolutions keeps activation variance constant through ReLU networks;
normalization layers start as the identity. Released weights replace all of
this; it matters when training from scratch.
"""

from __future__ import annotations

from torch import nn


def init_weights(model: nn.Module, *, linear_std: float = 0.01, trunc_normal_std: float | None = None) -> None:
    """He-normal (fan-out) convolutions, identity norms, small-normal linear layers.

    With ``trunc_normal_std`` (ConvNeXt), convolutions and linear layers are
    drawn from a truncated normal of that standard deviation instead.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if trunc_normal_std is not None:
                nn.init.trunc_normal_(module.weight, std=trunc_normal_std)
            elif isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            else:
                nn.init.normal_(module.weight, 0.0, linear_std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)) and module.weight is not None:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
