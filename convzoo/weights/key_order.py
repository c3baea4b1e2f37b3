# SPDX-License-Identifier: MIT
"""The order of a reference model's ``state_dict``, to restore it where a file lost it.

The conversion pairs tensors by position (see :mod:`convzoo.weights.convert`),
so it needs the reference's tensors in their module order. ``torch.save``
keeps that order; safetensors files (timm's on the Hugging Face hub) store
their tensors sorted by dtype and name. The order comes from torchvision
itself (a hard dependency; its model is built on the meta device, no memory),
and for timm from ``timm_tensor_order.json.gz``, written from timm by
``scripts/make_weights_table.py`` and checked against timm by the tests, so
timm's weights load without timm installed.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections import OrderedDict
from collections.abc import Mapping
from importlib import resources

import torch
from torch import Tensor

from ..registry import get_entry

TIMM_ORDER_FILE = "timm_tensor_order.json.gz"


@functools.cache
def _timm_orders() -> dict[str, list[str]]:
    with resources.files(__package__).joinpath(TIMM_ORDER_FILE).open("rb") as file:
        return json.loads(gzip.decompress(file.read()))


@functools.cache
def reference_key_order(model_name: str, source: str) -> tuple[str, ...] | None:
    """The reference's state-dict keys in module order (with every optional part, e.g. auxiliary heads)."""
    entry = get_entry(model_name)
    reference = entry.reference.get(source)
    if reference is None:
        return None
    if source == "timm":
        order = _timm_orders().get(reference)
        return tuple(order) if order is not None else None
    options = {**entry.reference_kwargs.get(source, {}), **dict.fromkeys(entry.reference_attributes, True)}
    with torch.device("meta"):
        module = build_torchvision(reference, **options)
    return tuple(module.state_dict())


def build_torchvision(reference: str, **options) -> torch.nn.Module:
    """torchvision's ``reference`` with random weights, on the default device; on the CPU where that is the meta
    device and the builder reads tensor values (RegNet computes its stage widths with tensors)."""
    import torchvision

    try:
        return torchvision.models.get_model(reference, weights=None, **options)
    except NotImplementedError:  # "Cannot copy out of meta tensor"
        with torch.device("cpu"):
            return torchvision.models.get_model(reference, weights=None, **options)


def in_reference_order(state_dict: Mapping[str, Tensor], source: str, model_name: str) -> OrderedDict[str, Tensor]:
    """``state_dict`` in its reference's module order; keys the reference does not know keep their place at the end."""
    order = reference_key_order(model_name, source)
    if order is None:
        return OrderedDict(state_dict)
    position = {key: index for index, key in enumerate(order)}
    return OrderedDict(sorted(state_dict.items(), key=lambda item: position.get(item[0], len(position))))


__all__ = ["build_torchvision", "in_reference_order", "reference_key_order"]
