# SPDX-License-Identifier: MIT
"""Every zoo model as a backbone: the feature map at the end of each stage (timm's ``features_only``).

Detection and segmentation heads (FPN, U-Net, DeepLab) read a pyramid of
feature maps, one per resolution: strides 2, 4, 8, 16 and 32 for an ImageNet
network. Each family names its *feature path*, the modules that, applied one
after another, compute ``forward_features`` (``ZooModel.feature_path``). A stage
ends at the last module of the path whose output still has a given reduction
(input size / output size), which is where timm taps its ``features_only``
models too, so the outputs of ResNet, EfficientNet, MobileNetV3 and ConvNeXt
equal timm's (tests/test_features.py).

:class:`FeatureNet` keeps the full model's modules under their own names and
drops the rest (classifier head, auxiliary heads, modules after the last stage
asked for), so a full checkpoint or converted weights load into it directly:
keys of the dropped modules are ignored, every other key must match.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import OptionError


@dataclass(frozen=True)
class FeatureStage:
    """One tapped feature map: the module whose output it is, its channels and its reduction (stride)."""

    module: str  # dotted name in the full model
    channels: int
    reduction: int  # input side / feature-map side, rounded to a power of two
    position: int  # index of ``module`` in the feature path
    size: tuple[int, int]  # height and width of the map for the input size the stages were found with


class FeatureInfo(Sequence):
    """What each returned feature map is; ``channels()``, ``reduction()``, ``module_name()`` as in timm."""

    def __init__(self, stages: list[FeatureStage]) -> None:
        self.stages = list(stages)

    def __len__(self) -> int:
        return len(self.stages)

    def __getitem__(self, index):
        stage = self.stages[index]
        return {"num_chs": stage.channels, "reduction": stage.reduction, "module": stage.module}

    def channels(self, index: int | None = None):
        return [s.channels for s in self.stages] if index is None else self.stages[index].channels

    def reduction(self, index: int | None = None):
        return [s.reduction for s in self.stages] if index is None else self.stages[index].reduction

    def module_name(self, index: int | None = None):
        return [s.module for s in self.stages] if index is None else self.stages[index].module


@torch.no_grad()
def feature_stages(model: nn.Module, input_size: tuple[int, int, int]) -> list[FeatureStage]:
    """All stages of ``model``: the path is run once on a shape-only (meta) tensor of ``input_size``."""
    was_training = model.training
    model.eval()  # batch norm without updating running statistics, no stochastic depth
    x = torch.empty(1, *input_size, device="meta")
    last_at: dict[int, FeatureStage] = {}
    computed = False  # parameter-free preprocessing at the start (GoogLeNet's input transform) ends no stage
    for position, name in enumerate(model.feature_path()):
        module = model.get_submodule(name)
        x = _shape_only_call(module, x)
        computed = computed or any(True for _ in module.parameters())
        if not computed:
            continue
        reduction = 2 ** round(math.log2(input_size[-1] / x.shape[-1]))
        last_at[reduction] = FeatureStage(name, x.shape[1], reduction, position, tuple(x.shape[-2:]))
    model.train(was_training)
    return [last_at[reduction] for reduction in sorted(last_at)]


def _shape_only_call(module: nn.Module, x: Tensor) -> Tensor:
    """``module(x)`` with its parameters and buffers replaced by meta tensors: shapes only, no arithmetic."""
    tensors = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    meta = {name: torch.empty_like(tensor, device="meta") for name, tensor in tensors.items()}
    return torch.func.functional_call(module, meta, (x,))


def _chosen(stages: list[FeatureStage], out_indices: Sequence[int] | None) -> list[FeatureStage]:
    if out_indices is None:
        return stages
    chosen = []
    for index in out_indices:
        if not -len(stages) <= index < len(stages):
            raise OptionError(
                f"out_indices {tuple(out_indices)}: this model has {len(stages)} feature stages "
                f"(indices 0 to {len(stages) - 1}, reductions {[s.reduction for s in stages]})"
            )
        chosen.append(stages[index])
    if len({s.position for s in chosen}) != len(chosen):
        raise OptionError(f"out_indices {tuple(out_indices)} names a stage twice")
    return sorted(chosen, key=lambda s: s.position)


class FeatureNet(nn.Module):
    """The feature maps of the chosen stages of ``model``, as a list from the highest resolution down."""

    def __init__(
        self,
        model: nn.Module,
        out_indices: Sequence[int] | None = None,
        input_size: tuple[int, int, int] = (3, 224, 224),
    ) -> None:
        super().__init__()
        chosen = _chosen(feature_stages(model, input_size), out_indices)
        self.feature_info = FeatureInfo(chosen)
        self.path = model.feature_path()[: chosen[-1].position + 1]
        self.taps = {stage.position for stage in chosen}
        self.dropped = self._adopt(model, self.path)
        self.pretrained_weights = getattr(model, "pretrained_weights", None)

    def _adopt(self, model: nn.Module, path: list[str]) -> list[str]:
        """Take over ``model``'s modules on ``path`` under their names; the prefixes of those left out."""
        used: dict[str, set[str]] = {}
        for name in path:
            top, _, rest = name.partition(".")
            used.setdefault(top, set()).add(rest.partition(".")[0])
        dropped = []
        for name, child in model.named_children():
            if name not in used:
                dropped.append(f"{name}.")
                continue
            if isinstance(child, nn.Sequential) and "" not in used[name]:  # keep the leading blocks in use
                count = max(int(index) for index in used[name]) + 1
                dropped += [f"{name}.{index}." for index in range(count, len(child))]
                child = nn.Sequential(*list(child)[:count])
            self.add_module(name, child)
        return dropped

    def forward(self, x: Tensor) -> list[Tensor]:
        features = []
        for position, name in enumerate(self.path):
            x = self.get_submodule(name)(x)
            if position in self.taps:
                features.append(x)
        return features

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        """Also a full model's state dict: keys of the modules left out (the head, later stages) are skipped."""
        kept = {key: value for key, value in state_dict.items() if not key.startswith(tuple(self.dropped))}
        return super().load_state_dict(kept, strict=strict, assign=assign)


def sequential_children(model: nn.Module, name: str) -> list[str]:
    """``["name.0", "name.1", ...]``: the dotted names of a ``Sequential`` attribute's children."""
    return [f"{name}.{index}" for index in range(len(model.get_submodule(name)))]
