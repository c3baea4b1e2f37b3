# SPDX-License-Identifier: MIT
"""Turn a torchvision or timm ``state_dict`` into ours.

Our modules are registered in the same order as the reference's, with the same
tensor shapes, so the conversion pairs the two state dicts *position by
position* and checks every pair: same shape (or the same values in another
layout: a 1×1 convolution against a linear layer, ConvNeXt's layer scale
stored as ``(C, 1, 1)`` against ``(C,)``) and the same kind of batch-norm
buffer. One rule covers every family and both libraries, and a mismatch names
the first pair that disagrees instead of loading garbage. Tests convert
randomized reference weights for every model and compare outputs.

Where a library registers a block's modules in another order than ours (timm's
RegNet registers the shortcut after the main branch, torchvision's and ours
before), the family says so in ``ModelEntry.reference_reorder`` and
:func:`in_our_order` moves the reference's tensors first. Without it equal
shapes would pair the shortcut with the main branch's first convolution,
silently wherever the shapes agree.

Two adaptations:

- ``in_chans != 3``: the first convolution's RGB filters are adapted as timm
  does. For one channel they are summed over RGB (a grey image then gives the
  same response as the colour image it came from). For any other count the
  RGB filters are repeated cyclically to ``in_chans`` channels and scaled by
  ``3 / in_chans``, which keeps the overall scale of the first layer's output;
  for a multiple of 3 channels a constant image gives exactly the RGB response.
- ``num_classes`` other than the reference's: the classifier (and GoogLeNet's
  auxiliary classifiers) is left out. Build the model with your class count
  and load with ``strict=False``; its head keeps its fresh initialization.
  :func:`load_converted` does exactly that and checks nothing else is missing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import CheckpointError, OptionError
from ..registry import get_entry
from .key_order import in_reference_order

SOURCES = ("torchvision", "timm")
_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")
_CLASSIFIER_KEYS = ("head.fc.", "aux1.fc2.", "aux2.fc2.")


def adapt_input_conv(weight: Tensor, in_chans: int) -> Tensor:
    """Adapt ``(out, 3, k, k)`` RGB filters to ``in_chans`` input channels (see module docstring)."""
    if weight.shape[1] == in_chans:
        return weight
    if in_chans == 1:
        return weight.sum(dim=1, keepdim=True)
    repeats = -(-in_chans // weight.shape[1])  # ceil division
    adapted = weight.repeat(1, repeats, 1, 1)[:, :in_chans]
    return adapted * (weight.shape[1] / in_chans)


def _is_classifier(key: str) -> bool:
    return key.startswith(_CLASSIFIER_KEYS)


def _buffer_kind(key: str) -> str | None:
    suffix = key.rsplit(".", 1)[-1]
    return suffix if suffix in _BUFFER_SUFFIXES else None


def _same_layout(ours: torch.Size, theirs: torch.Size) -> bool:
    """Equal shapes, or the same rows in another layout.

    A k×k convolution applied to a k×k map is a linear layer over the flattened
    map (timm's VGG head), a 1×1 convolution is a linear layer (timm's
    MobileNetV3 head), a ``(C, 1, 1)`` scale is a ``(C,)`` one: the first
    dimension and the element count agree, and a reshape maps one onto the other.
    """
    if ours == theirs:
        return True
    return len(ours) > 0 and len(theirs) > 0 and ours[0] == theirs[0] and ours.numel() == theirs.numel()


def _child_of(key: str, child: str) -> str | None:
    """The dotted name of the module whose submodule ``child`` holds ``key`` (``"s1.b1"``), or None."""
    parts = key.split(".")
    if child not in parts[:-1]:
        return None
    return ".".join(parts[: parts.index(child)])


def in_our_order(state_dict: Mapping[str, Tensor], moves: tuple[tuple[str, str], ...]) -> OrderedDict[str, Tensor]:
    """``state_dict`` with each module's ``child`` tensors moved to just before its ``sibling``'s, per move in turn.

    ``moves`` is ``ModelEntry.reference_reorder[source]``: ``(("downsample", "conv1"),)`` puts timm's RegNet
    shortcut first in each block, as ours registers it. A module that has no ``sibling`` keeps its ``child`` in place.
    """
    items = list(state_dict.items())
    for child, sibling in moves:
        moved: dict[str, list[tuple[str, Tensor]]] = {}
        has_sibling = {parent for key, _ in items if (parent := _child_of(key, sibling)) is not None}
        for key, tensor in items:
            parent = _child_of(key, child)
            if parent in has_sibling:
                moved.setdefault(parent, []).append((key, tensor))
        reordered, moving = [], set(moved)
        for key, tensor in items:
            if _child_of(key, child) in moving:
                continue
            parent = _child_of(key, sibling)
            if parent in moved:
                reordered.extend(moved.pop(parent))
            reordered.append((key, tensor))
        items = reordered
    return OrderedDict(items)


def _template(model_name: str, **model_kwargs: Any) -> dict[str, Tensor]:
    with torch.device("meta"):
        model = get_entry(model_name).build(**model_kwargs)
    return model.state_dict()


def convert_state_dict(
    state_dict: Mapping[str, Tensor],
    *,
    source: str,
    model_name: str,
    num_classes: int | None = None,
    in_chans: int = 3,
    **model_kwargs: Any,
) -> dict[str, Tensor]:
    """Map a reference ``state_dict`` onto ``create_model(model_name, **model_kwargs)``.

    ``model_kwargs`` are the options the reference model was built with
    (e.g. ``aux_logits=True`` for GoogLeNet with auxiliary heads). The result
    loads with ``strict=True`` into ``create_model(model_name, in_chans=in_chans,
    **model_kwargs)`` built with the reference's class count, or ``num_classes``
    if that is given and equal; otherwise the classifier is left out.
    """
    if source not in SOURCES:
        raise OptionError(f"source must be one of {SOURCES}, got {source!r}")
    entry = get_entry(model_name)
    if source not in entry.reference:
        raise OptionError(f"{model_name} has no {source} counterpart; known: {sorted(entry.reference) or 'none'}")
    theirs = in_reference_order(state_dict, source, model_name)  # safetensors files store tensors sorted
    theirs = in_our_order(theirs, entry.reference_reorder.get(source, ()))
    first_conv_in = next((t.shape[1] for t in theirs.values() if t.dim() == 4), 3)
    headless = num_classes == 0  # a timm model built with num_classes=0 has no classifier tensors
    template = _template(model_name, in_chans=first_conv_in, num_classes=0 if headless else 1000, **model_kwargs)
    if not any(key.startswith("aux") for key in template):
        theirs = OrderedDict((k, v) for k, v in theirs.items() if not k.startswith("aux"))
    if len(theirs) != len(template):
        raise CheckpointError(
            f"{source} state_dict has {len(theirs)} tensors, {model_name} has {len(template)}: "
            f"is it the state_dict of {entry.reference[source]!r} built with the same options?"
        )
    converted: dict[str, Tensor] = OrderedDict()
    reference_classes = None
    for (our_key, our_tensor), (their_key, their_tensor) in zip(template.items(), theirs.items(), strict=True):
        if _is_classifier(our_key):
            reference_classes = their_tensor.shape[0]
            if their_tensor.shape[1:] != our_tensor.shape[1:]:
                raise CheckpointError(
                    f"classifier {their_key} has shape {tuple(their_tensor.shape)}, expected {our_key}"
                )
            converted[our_key] = their_tensor
            continue
        if _buffer_kind(our_key) != _buffer_kind(their_key) or not _same_layout(our_tensor.shape, their_tensor.shape):
            raise CheckpointError(
                f"{source} tensor {their_key} {tuple(their_tensor.shape)} does not match "
                f"{our_key} {tuple(our_tensor.shape)} of {model_name}"
            )
        converted[our_key] = their_tensor.reshape(our_tensor.shape)
    first_conv = next(key for key, tensor in template.items() if tensor.dim() == 4)
    converted[first_conv] = adapt_input_conv(converted[first_conv], in_chans)
    if num_classes is not None and num_classes != reference_classes:
        converted = OrderedDict((k, v) for k, v in converted.items() if not _is_classifier(k))
    return converted


def load_converted(model: nn.Module, converted: Mapping[str, Tensor]) -> None:
    """Load a converted state dict whose classifier may have been left out; anything else missing is an error."""
    result = model.load_state_dict(converted, strict=False)
    missing = [key for key in result.missing_keys if not _is_classifier(key)]
    if missing or result.unexpected_keys:
        raise CheckpointError(f"weights do not fit: missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}")
