# SPDX-License-Identifier: MIT
"""``profile``: where a model's parameters, multiply-adds and activation memory go, layer by layer.

One forward pass (no gradients) runs under a ``TorchDispatchMode`` that sees
every dispatched ATen operator, so work done by functional calls and tensor
operators (``F.relu``, ``x + shortcut``, ``torch.cat``, ``x.mean()``,
``x * se``) is counted as well as work done by modules. Forward hooks keep a
stack of the modules that are running; each operator is attributed to the
innermost one. The receptive field travels with the tensors
(:mod:`convzoo.analysis.receptive_field`); the counting conventions are in
:mod:`convzoo.analysis.counting`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

from ..errors import OptionError
from ..registry import get_entry
from .counting import OTHER_KINDS, macs_of, op_name, other_ops_of
from .profile_result import LayerRow, Profile
from .receptive_field import Field, propagate


@dataclass
class _Record:
    """What one module did itself (not its children)."""

    path: str
    type: str
    is_leaf: bool
    order: int = -1
    calls: int = 0
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    macs: int = 0
    other_ops: dict[str, int] = field(default_factory=dict)
    activation_bytes: int = 0
    activation_elements: int = 0
    ops: list[str] = field(default_factory=list)
    field: Field | None = None
    layer_stride: tuple[int, int] | None = None


def _first_tensor(value: Any) -> torch.Tensor | None:
    leaves, _ = tree_flatten(value)
    return next((leaf for leaf in leaves if isinstance(leaf, torch.Tensor)), None)


def _mutates_or_aliases(func: Any) -> bool:
    """A view or an in-place result: its output takes no new memory."""
    return any(arg.alias_info is not None for arg in func._schema.returns)


class _CountingMode(TorchDispatchMode):
    def __init__(self, records: dict[str, _Record], stack: list[str]) -> None:
        super().__init__()
        self.records, self.stack = records, stack
        self.fields: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.order = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = op_name(func)
        record = self.records[self.stack[-1]]
        if record.order < 0:
            record.order = self.next_order()
        inputs = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        macs = macs_of(name, args, out)
        other = other_ops_of(name, args, out)
        record.macs += macs
        if other is not None:
            record.other_ops[other[0]] = record.other_ops.get(other[0], 0) + other[1]
        if macs or other is not None:
            record.ops.append(name)
        if not _mutates_or_aliases(func):
            record.activation_bytes += sum(t.numel() * t.element_size() for t in outputs)
            record.activation_elements += sum(t.numel() for t in outputs)
        widest = Field.widest([self.fields[t] for t in inputs if t in self.fields])
        result = propagate(name, args, widest)
        for tensor in outputs:
            self.fields[tensor] = result
        if result.jump != widest.jump:
            record.layer_stride = tuple(r // w for r, w in zip(result.jump, widest.jump, strict=True))  # type: ignore[assignment]
        return out

    def next_order(self) -> int:
        self.order += 1
        return self.order

    def seed(self, tensor: torch.Tensor) -> None:
        self.fields[tensor] = Field()

    def field_of(self, tensor: torch.Tensor | None) -> Field | None:
        return self.fields.get(tensor) if tensor is not None else None


def _shape(value: Any) -> tuple[int, ...] | None:
    tensor = _first_tensor(value)
    return tuple(tensor.shape) if tensor is not None else None


def _attach_hooks(model: nn.Module, records: dict[str, _Record], stack: list[str], mode: _CountingMode) -> list:
    handles = []
    for path, module in model.named_modules():
        record = records[path]

        def pre_hook(module, inputs, path=path, record=record):
            stack.append(path)
            record.calls += 1
            if record.is_leaf and record.order < 0:
                record.order = mode.next_order()
            record.input_shape = _shape(inputs)

        def post_hook(module, inputs, output, path=path, record=record):
            stack.pop()
            record.output_shape = _shape(output)
            tensor = _first_tensor(output)
            record.field = mode.field_of(tensor) if tensor is not None and tensor.dim() == 4 else None

        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))
    return handles


def _records_for(model: nn.Module) -> dict[str, _Record]:
    return {
        path: _Record(path=path, type=type(module).__name__, is_leaf=not any(True for _ in module.children()))
        for path, module in model.named_modules()
    }


def _to_row(record: _Record, module: nn.Module) -> LayerRow:
    own = list(module.parameters(recurse=False))
    trainable = sum(p.numel() for p in own if p.requires_grad)
    frozen = sum(p.numel() for p in own if not p.requires_grad)
    layer_type = (
        record.type if record.is_leaf else f"{record.type} (own ops: {', '.join(dict.fromkeys(record.ops)) or '-'})"
    )
    return LayerRow(
        path=record.path or "(model)",
        type=layer_type,
        input_shape=record.input_shape,
        output_shape=record.output_shape,
        params=trainable + frozen,
        trainable_params=trainable,
        macs=record.macs,
        other_ops={kind: record.other_ops.get(kind, 0) for kind in OTHER_KINDS},
        activation_elements=record.activation_elements,
        activation_bytes=record.activation_bytes,
        receptive_field=record.field.rf if record.field else None,
        jump=record.field.jump if record.field else None,
        stride=record.layer_stride,
    )


def _resolve(model_or_name: nn.Module | str, input_size: tuple[int, ...]) -> tuple[nn.Module, str]:
    if isinstance(model_or_name, nn.Module):
        return model_or_name, type(model_or_name).__name__
    entry = get_entry(model_or_name)
    if len(input_size) != 3:
        raise OptionError(f"{entry.name} takes input_size (C, H, W), got {input_size}")
    if min(input_size[-2:]) < entry.min_input_size:
        hint = "; its small-input variant (small_input=True) starts at " + str(entry.small_min_input_size)
        raise OptionError(
            f"{entry.name} needs inputs of at least {entry.min_input_size}x{entry.min_input_size}, "
            f"got {input_size[-2]}x{input_size[-1]}" + (hint if entry.small_min_input_size else "")
        )
    return entry.build(in_chans=input_size[0]), entry.name


@torch.no_grad()
def profile(
    model_or_name: nn.Module | str,
    input_size: tuple[int, ...] = (3, 224, 224),
    *,
    batch_size: int = 1,
    device: str | torch.device = "cpu",
) -> Profile:
    """Run one forward pass and count parameters, MACs, other ops, activations and receptive fields.

    ``input_size`` is ``(C, H, W)`` without the batch dimension. A model name
    is built with ``create_model(name, in_chans=C)``; the model runs in eval mode.
    """
    if not input_size or any(int(d) < 1 for d in input_size):
        raise OptionError(f"input_size must be positive sizes such as (C, H, W), got {tuple(input_size)}")
    model, name = _resolve(model_or_name, tuple(input_size))
    was_training = model.training
    model = model.to(device).eval()
    records = _records_for(model)
    stack: list[str] = []
    mode = _CountingMode(records, stack)
    handles = _attach_hooks(model, records, stack, mode)
    x = torch.randn(batch_size, *input_size, device=device)
    try:
        with mode:
            mode.seed(x)
            model(x)
    except RuntimeError as error:
        message = str(error).splitlines()[0]
        raise OptionError(f"{name} cannot run on input {'x'.join(map(str, input_size))}: {message}") from None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    modules = dict(model.named_modules())
    ran = [r for r in records.values() if r.calls and (r.is_leaf or r.order >= 0)]
    # modules that hold parameters but did not run (GoogLeNet's auxiliary heads in eval mode) come last
    idle = [r for r in records.values() if not r.calls and any(True for _ in modules[r.path].parameters(recurse=False))]
    rows = [_to_row(r, modules[r.path]) for r in sorted(ran, key=lambda r: r.order) + idle]
    total_params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return Profile(
        model_name=name,
        input_size=tuple(input_size),
        batch_size=batch_size,
        rows=rows,
        total_params=total_params,
        trainable_params=trainable,
    )
