# SPDX-License-Identifier: MIT
"""Typed values from plain data: a checkpoint's dataclasses rebuilt from what ``torch.load`` returned.

A checkpoint stores its descriptions (the model, the training position) as plain dicts, so reading one
is safe; but a dict from a file can hold anything. Each value is checked against its field's type
before the dataclass is built, so an edited or corrupt file is one clear :class:`CheckpointError`
instead of a wrong type discovered deep in a training loop.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields
from typing import Any

from ..errors import CheckpointError


def fits(value: Any, hint: Any) -> bool:
    """Whether plain data read from a checkpoint has the type ``hint`` (int, float, str, bool, None, unions,
    ``list[X]``, ``dict[K, V]``, ``Any``); a bool is not a number here, an int is a float."""
    if hint is Any:
        return True
    if hint is type(None) or hint is None:
        return value is None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, option) for option in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(fits(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(fits(k, key) and fits(v, item) for k, v in value.items())
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def describe_type(hint: Any) -> str:
    return getattr(hint, "__name__", None) if isinstance(hint, type) else str(hint).replace("typing.", "")


def fields_from_plain(cls: type, values: Any, what: str, *, unknown: str = "refuse") -> Any:
    """``cls(**values)`` for a dataclass stored as plain data in a checkpoint, every field checked against its type.

    ``what`` names the part in the messages (e.g. ``"runs/x/last.pt's train_state"``); ``unknown="ignore"`` drops
    fields ``cls`` does not have (a newer writer's additions) instead of refusing them. Resuming uses it for
    ``TrainState``: ``fields_from_plain(TrainState, training["train_state"], f"{path}'s train_state")``.
    """
    if not isinstance(values, dict):
        raise CheckpointError(f"{what} is a {type(values).__name__}, not a mapping of fields; the file is corrupt")
    specs = {spec.name: spec for spec in fields(cls)}
    extra = sorted(str(name) for name in values if name not in specs)
    if extra and unknown == "refuse":
        raise CheckpointError(
            f"{what} has unknown fields ({', '.join(extra)}); it was written by another convzoo version or edited"
        )
    missing = [
        name
        for name, spec in specs.items()
        if name not in values and spec.default is MISSING and spec.default_factory is MISSING
    ]
    if missing:
        raise CheckpointError(f"{what} lacks the fields {', '.join(missing)}; the file is corrupt or edited")
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        if name in specs and not fits(value, hints[name]):
            raise CheckpointError(
                f"{what} field {name} should be {describe_type(hints[name])}, got {type(value).__name__} "
                f"{value!r:.60}; "
                "the file is corrupt or edited"
            )
    return cls(**{name: value for name, value in values.items() if name in specs})
