# SPDX-License-Identifier: MIT
"""``create_model(name, pretrained=...)``'s weights: released or local ones, in a model built as their source built it.

``pretrained`` is ``False`` (random initialization), ``True`` (the model's
default source: torchvision where it has the model, timm otherwise),
``"torchvision"`` or ``"timm"``, or the path of a weights file (a convzoo
state dict or a torchvision/timm state dict, in ``.safetensors`` or
``torch.save`` format; a convzoo checkpoint is refused here, since a training
run's state is read by ``--weights`` and ``--checkpoint``).

Released weights build the model with their source's settings (batch-norm eps
and momentum, GoogLeNet's ``transform_input``), so outputs equal the source
model's. ``num_classes`` and ``in_chans`` other than the weights' reuse what
fits: the classifier keeps its fresh initialization and the first convolution's
RGB filters are adapted (see :mod:`convzoo.weights.convert`). The weights'
entry is attached as ``model.pretrained_weights`` (its evaluation transform,
classes, top-1).

The public door is :func:`convzoo.factory.create_model`, which calls
:func:`build_pretrained` when ``pretrained`` names weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from .. import checkpoint as ckpt
from .. import registry
from ..errors import CheckpointError
from .catalog import SOURCES, Weights, sources_for, weights_for
from .convert import convert_state_dict, load_converted
from .hub import cached_file, read_weights_file


def build_pretrained(
    entry: registry.ModelEntry,
    pretrained: bool | str | Path,
    *,
    num_classes: int = 1000,
    in_chans: int = 3,
    **kwargs: Any,
) -> nn.Module:
    """``entry``'s model holding the weights ``pretrained`` names (see the module docstring)."""
    if pretrained is True or pretrained in SOURCES:
        weights = weights_for(entry.name, pretrained)
        return load_released(entry.name, weights, num_classes=num_classes, in_chans=in_chans, **kwargs)
    model_kwargs = {"num_classes": num_classes, "in_chans": in_chans, **kwargs}
    model = entry.build(**model_kwargs)
    path = Path(pretrained)
    fit_state_dict(model, ckpt.load_state_dict_file(path), entry.name, model_kwargs, path)
    return model


def load_released(name: str, weights: Weights, *, num_classes: int, in_chans: int, **kwargs: Any) -> nn.Module:
    """``name`` built with ``weights``' settings and holding its (downloaded or cached, verified) tensors."""
    settings = {**weights.settings, **kwargs}
    model = registry.get_entry(name).build(num_classes=num_classes, in_chans=in_chans, **settings)
    state = read_weights_file(cached_file(weights))
    try:
        converted = convert_state_dict(
            state, source=weights.source, model_name=name, num_classes=num_classes, in_chans=in_chans, **settings
        )
    except ValueError as error:
        raise CheckpointError(f"{weights.url} does not hold {weights.tag} weights: {error}") from None
    load_converted(model, converted)
    model.pretrained_weights = weights
    return model


def fit_state_dict(model: nn.Module, state: dict, model_name: str, model_kwargs: dict[str, Any], path: Path) -> None:
    """Load ``state`` (ours, or a torchvision/timm one) into ``model``; a classifier of another shape stays fresh.

    ``model_kwargs`` are the ``create_model`` arguments ``model`` was built with.
    """
    ours = model.state_dict()
    if set(state) <= set(ours):
        state = {k: v for k, v in state.items() if not k.startswith("head.fc.") or v.shape == ours[k].shape}
    else:
        state = _convert_any_source(state, model_name, model_kwargs, path)
    try:
        load_converted(model, state)
    except RuntimeError as error:  # one of our names, a tensor of another shape
        raise CheckpointError(f"{path} does not fit {model_name}: {ckpt.state_dict_mismatch(error)}") from None


def _convert_any_source(state: dict, model_name: str, model_kwargs: dict[str, Any], path: Path) -> dict:
    num_classes, in_chans = model_kwargs.get("num_classes", 1000), model_kwargs.get("in_chans", 3)
    options = {"small_input": True} if model_kwargs.get("small_input") else {}
    errors = []
    for source in registry.get_entry(model_name).reference:
        try:
            return convert_state_dict(
                state, source=source, model_name=model_name, num_classes=num_classes, in_chans=in_chans, **options
            )
        except ValueError as error:
            errors.append(f"{source}: {error}")
    raise CheckpointError(f"{path} does not fit {model_name}: " + ("; ".join(errors) or "no reference layout known"))


def model_info(name: str) -> dict[str, Any]:
    """:func:`convzoo.registry.model_facts` plus the released weights (``"pretrained"``, default source first)."""
    info = registry.model_facts(name)
    info["pretrained"] = [weights_for(name, source).summary() for source in sources_for(name)]
    return info


__all__ = ["build_pretrained", "fit_state_dict", "load_released", "model_info"]
