# SPDX-License-Identifier: MIT
"""Any torchvision or timm classifier that convzoo has, as the equal convzoo model.

:func:`from_reference` reads everything it needs from the module itself: which
registered model it is (timm names its architecture; a torchvision module is
recognized by its tensors), its class count and input channels, and the
settings in which the two libraries differ. Those are batch-norm eps and
momentum (torchvision's MobileNetV3 and EfficientNet-B5..B7 use TensorFlow's
1e-3 / 0.01, timm 1e-5 / 0.1: with the wrong eps timm's MobileNetV3 weights
give outputs ~3% off) and the attributes a family lists in
``ModelEntry.reference_attributes`` (GoogLeNet's ``transform_input``, which
torchvision turns on for its released weights). The result holds the module's
weights and computes the same outputs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import OptionError
from ..registry import count_params, get_entry, list_models
from .convert import SOURCES, convert_state_dict


def library_of(module: nn.Module) -> str:
    """``"torchvision"`` or ``"timm"``: the library whose code defines ``module``."""
    library = type(module).__module__.split(".")[0]
    if library not in SOURCES:
        raise OptionError(
            f"{type(module).__name__} is from {library!r}; from_reference takes a torchvision or timm model"
        )
    return library


def _batch_norm_settings(module: nn.Module) -> set[tuple[float, float | None]]:
    return {(m.eps, m.momentum) for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


def _num_classes(module: nn.Module) -> int:
    classes = getattr(module, "num_classes", None)  # timm's models say; torchvision's end with their classifier
    if isinstance(classes, int):
        return classes
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features


def _in_chans(module: nn.Module) -> int:
    return next(m for m in module.modules() if isinstance(m, nn.Conv2d)).in_channels


def _basic_settings(module: nn.Module, name: str) -> dict[str, Any]:
    settings: dict[str, Any] = {"num_classes": _num_classes(module), "in_chans": _in_chans(module)}
    for attribute in get_entry(name).reference_attributes:
        if hasattr(module, attribute):
            settings[attribute] = bool(getattr(module, attribute))
    return settings


def settings_of(module: nn.Module, name: str) -> dict[str, Any]:
    """``create_model(name, **settings)`` arguments under which ours computes what ``module`` does."""
    settings = _basic_settings(module, name)
    theirs = _batch_norm_settings(module)
    with torch.device("meta"):
        ours = _batch_norm_settings(get_entry(name).build(**settings))
    if theirs and theirs != ours:
        if len(theirs) != 1:
            raise OptionError(f"{type(module).__name__} mixes batch-norm settings {sorted(theirs)}; convzoo uses one")
        ((eps, momentum),) = theirs
        settings.update(bn_eps=eps, bn_momentum=momentum)
        try:
            with torch.device("meta"):
                matched = _batch_norm_settings(get_entry(name).build(**settings))
        except TypeError:
            matched = None
        if matched != theirs:
            raise OptionError(f"{name} cannot be built with batch-norm eps {eps} and momentum {momentum}")
    return settings


def identify(module: nn.Module, source: str | None = None) -> str:
    """The registered name of the model ``module`` is an instance of."""
    source = source or library_of(module)
    if source == "timm":
        config = getattr(module, "pretrained_cfg", None) or {}
        architecture = config.get("architecture")
        names = [n for n in list_models() if get_entry(n).reference.get("timm") == architecture]
        if not names:
            raise OptionError(f"timm's {architecture or type(module).__name__} has no convzoo counterpart")
        return names[0]
    parameters = sum(p.numel() for p in module.parameters())
    state = module.state_dict()
    matches = []
    for name in list_models():
        if source not in get_entry(name).reference:
            continue
        settings = _basic_settings(module, name)
        if count_params(name, **settings) != parameters:
            continue
        try:
            convert_state_dict(state, source=source, model_name=name, **settings)
        except ValueError:
            continue
        matches.append(name)
    if len(matches) != 1:
        found = f"it fits {matches}" if matches else "no registered model has its tensors"
        raise OptionError(f"cannot tell which convzoo model this {source} {type(module).__name__} is: {found}")
    return matches[0]


def from_reference(module: nn.Module) -> nn.Module:
    """The convzoo model equal to a built torchvision or timm ``module``: its weights, class count and settings.

    The result is in the module's mode (train or eval) and gives the same
    outputs: the equivalence tests check every model both libraries have to
    1e-4 relative, with random weights and batch-norm statistics.
    """
    source = library_of(module)
    name = identify(module, source)
    settings = settings_of(module, name)
    ours = get_entry(name).build(**settings)
    ours.load_state_dict(convert_state_dict(module.state_dict(), source=source, model_name=name, **settings))
    return ours.train(module.training)


__all__ = ["from_reference", "identify", "library_of", "settings_of"]
