# SPDX-License-Identifier: MIT
"""Build the reference implementation (torchvision or timm) of a registered model.

Used to check equivalence and to benchmark side by side. torchvision and timm
are optional dependencies (the ``dev`` extra); a clear error says so when they
are missing.
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

from ..errors import OptionError
from ..registry import get_entry
from .convert import convert_state_dict
from .key_order import build_torchvision


def build_reference(name: str, source: str, **kwargs: Any) -> nn.Module:
    """``source``'s model for ``name`` (random weights), built with the options that match ours."""
    entry = get_entry(name)
    if source not in entry.reference:
        raise OptionError(f"{name} has no {source} counterpart; known: {sorted(entry.reference) or 'none'}")
    try:
        library = importlib.import_module(source)
    except ImportError:
        raise OptionError(f"{source} is not installed; `pip install {source}` (or the dev extra)") from None
    options = {**entry.reference_kwargs.get(source, {}), **kwargs}
    if source == "torchvision":
        return build_torchvision(entry.reference[source], **options)  # on the CPU where meta cannot build it
    return library.create_model(entry.reference[source], pretrained=False, **options)


def paired_models(name: str, source: str, **kwargs: Any) -> tuple[nn.Module, nn.Module]:
    """``(reference, ours)`` holding the same weights (converted from the reference), in eval mode."""
    reference = build_reference(name, source, **kwargs).eval()
    ours = get_entry(name).build(**kwargs)
    ours.load_state_dict(convert_state_dict(reference.state_dict(), source=source, model_name=name, **kwargs))
    return reference, ours.eval()


__all__ = ["build_reference", "paired_models"]
