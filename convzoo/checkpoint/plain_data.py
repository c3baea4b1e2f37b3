# SPDX-License-Identifier: MIT
"""Typed values from plain data: a checkpoint's dataclasses rebuilt from what ``torch.load`` returned.

A checkpoint stores its descriptions (the model, the training position) as plain dicts, so reading one
is safe; but a dict from a file can hold anything. Each value is checked against its field's type
before the dataclass is built, so an edited or corrupt file is one clear :class:`CheckpointError`
instead of a wrong type discovered deep in a training loop.

What a file can cost is bounded before anything walks it. Pickle shares objects by reference, so a list
that holds itself twice, 26 times over, is 1.8 kB on disk and 2**26 items to any recursive walk (a type
check, a ``repr``): :func:`check_bounds` counts every value it visits, stops at :data:`MAX_VALUES` or
:data:`MAX_DEPTH`, and refuses. Messages quote values through :func:`short`, which cuts them *before*
formatting (``f"{value!r:.60}"`` formats the whole value, then cuts it).
"""

from __future__ import annotations

import reprlib
import types
import typing
from dataclasses import MISSING, fields
from typing import Any

import torch

from ..errors import CheckpointError

# Bounds on the plain data of one file (tensors count as one value each, whatever their size). A convzoo
# checkpoint of a ConvNeXt-Base with its AdamW state holds about 2,000 values, nested 5 deep; a timm state dict
# about 1,500.
MAX_VALUES = 200_000
MAX_DEPTH = 32
_CONTAINERS = (dict, list, tuple, set, frozenset)


def check_bounds(value: Any, what: str) -> None:
    """Refuse plain data of more than :data:`MAX_VALUES` values, counting a shared value each time it is reached
    (as a walk reaches it), nested deeper than :data:`MAX_DEPTH`, or holding itself, before anything walks it.

    Each container is measured once (its expanded size and height memoized by identity), so a list that holds
    itself twice 26 times over is measured in 26 steps, and the cost is bounded by the distinct values, which are
    bounded too.
    """
    try:
        _measure(value, 0, {})
    except _Unbounded as error:
        raise CheckpointError(
            f"{what} {error}: no convzoo checkpoint or weights file does; it is crafted or corrupt, refused unread"
        ) from None


class _Unbounded(Exception):
    pass


def _measure(value: Any, depth: int, measured: dict[int, tuple[int, int] | None]) -> tuple[int, int]:
    """``(values, height)`` of ``value``: how many values a walk reaches and how deep it nests below ``value``."""
    if not isinstance(value, _CONTAINERS):
        return 1, 0
    key = id(value)  # every value stays alive in the payload while it is measured: identities are not reused
    if key in measured:
        known = measured[key]
        if known is None:
            raise _Unbounded("holds itself (a cycle)")
    else:
        if depth > MAX_DEPTH:
            raise _Unbounded(f"is nested more than {MAX_DEPTH} levels deep")
        if len(measured) >= MAX_VALUES:
            raise _Unbounded(f"holds more than {MAX_VALUES:,} distinct values")
        measured[key] = None  # being measured: reaching it again below is a cycle
        children = (child for pair in value.items() for child in pair) if isinstance(value, dict) else value
        count, height = 1, 0
        for child in children:
            child_count, child_height = _measure(child, depth + 1, measured)
            count, height = count + child_count, max(height, child_height + 1)
            if count > MAX_VALUES:
                raise _Unbounded(f"holds more than {MAX_VALUES:,} values (counting shared ones each time)")
        known = measured[key] = (count, height)
    if depth + known[1] > MAX_DEPTH:
        raise _Unbounded(f"is nested more than {MAX_DEPTH} levels deep")
    return known


class _ShortRepr(reprlib.Repr):
    """``reprlib``'s bounded repr, with integers and tensors described rather than printed in full (``repr`` of
    a 4,301-digit integer raises, and of a tensor prints its values)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 3, 40, 40, 24

    def repr_int(self, value: int, level: int) -> str:
        if value.bit_length() > 64:
            return f"<an integer of {value.bit_length():,} bits>"
        return super().repr_int(value, level)

    def repr_Tensor(self, value: torch.Tensor, level: int) -> str:  # reprlib dispatches on the type's name
        return f"<tensor {tuple(value.shape)} {str(value.dtype).removeprefix('torch.')}>"


_SHORT = _ShortRepr()


def name_of(key: Any, limit: int = 60) -> str:
    """A field or argument name from a file, as plain text cut to ``limit``; a key that is no string, as its
    bounded repr."""
    if not isinstance(key, str):
        return short(key, limit)
    return key if len(key) <= limit else key[: limit - 3] + "..."


def short(value: Any, limit: int = 80) -> str:
    """A repr of ``value`` of at most ``limit`` characters (plus "..."), computed without formatting the rest."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    extra = sorted(name_of(name) for name in values if name not in specs)
    if extra and unknown == "refuse":
        more = ", ..." if len(extra) > 5 else ""
        raise CheckpointError(
            f"{what} has unknown fields ({', '.join(extra[:5])}{more}); it was written by another convzoo version "
            "or edited"
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
                f"{short(value)}; the file is corrupt or edited"
            )
    return cls(**{name: value for name, value in values.items() if name in specs})
