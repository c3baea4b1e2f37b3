# SPDX-License-Identifier: MIT
"""How much work one dispatched operator does.

Conventions (the same in every figure convzoo reports):

- **MACs**: one multiply-accumulate of a convolution or a matrix product is one
  MAC: ``N·H_out·W_out·C_out·(C_in/groups)·k_h·k_w`` for a convolution,
  ``M·N·K`` for ``(M×K)·(K×N)``. Bias additions are not counted. This equals
  half of ``torch.utils.flop_counter.FlopCounterMode``'s FLOPs.
- **Other ops**: everything else that computes, one op per output element and
  per kind: normalization, activation, element-wise arithmetic (``x + shortcut``,
  ``x * gate``), softmax. Pooling counts one op per element of each window
  (``out·k_h·k_w``); global/adaptive average pooling and ``mean`` one per input
  element. ``cat`` and padding count the elements they copy, as ``copy``.
  Views (``permute``, ``view``, ``flatten``) cost nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

NORM_OPS = {
    "native_batch_norm",
    "_native_batch_norm_legit",
    "_native_batch_norm_legit_no_training",
    "native_layer_norm",
    "native_group_norm",
}
ACTIVATION_OPS = {
    "relu",
    "relu_",
    "hardtanh",
    "hardtanh_",
    "silu",
    "silu_",
    "gelu",
    "gelu_",
    "hardswish",
    "hardswish_",
    "hardsigmoid",
    "hardsigmoid_",
    "sigmoid",
    "sigmoid_",
    "tanh",
    "tanh_",
    "leaky_relu",
    "leaky_relu_",
    "clamp",
    "clamp_",
    "clamp_min",
    "clamp_min_",
    "elu",
    "elu_",
    "mish",
    "mish_",
}
ELEMENTWISE_OPS = {
    "add",
    "add_",
    "sub",
    "sub_",
    "mul",
    "mul_",
    "div",
    "div_",
    "rsub",
    "neg",
    "exp",
    "sqrt",
    "rsqrt",
    "pow",
}
SOFTMAX_OPS = {"_softmax", "_log_softmax"}
WINDOW_POOL_OPS = {"max_pool2d_with_indices", "max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"}
GLOBAL_POOL_OPS = {"_adaptive_avg_pool2d", "adaptive_avg_pool2d", "mean", "sum"}
COPY_OPS = {"cat", "constant_pad_nd", "clone"}

OTHER_KINDS = ("norm", "activation", "elementwise", "softmax", "pool", "copy")


def op_name(func: Any) -> str:
    """``aten.relu_.default`` -> ``"relu_"``."""
    return func._overloadpacket.__name__


def _numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


def conv_macs(x: torch.Tensor, weight: torch.Tensor, out: torch.Tensor, transposed: bool) -> int:
    c_out, c_in_per_group, *kernel = weight.shape
    spatial = x.shape[2:] if transposed else out.shape[2:]
    return x.shape[0] * _numel(spatial) * c_out * c_in_per_group * _numel(kernel)


def matmul_macs(name: str, args: Sequence[Any]) -> int:
    if name == "mm":
        a, b = args[0], args[1]
    elif name == "addmm":
        a, b = args[1], args[2]
    elif name == "bmm":
        a, b = args[0], args[1]
        return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
    else:  # baddbmm
        a, b = args[1], args[2]
        return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
    return a.shape[0] * a.shape[1] * b.shape[1]


def macs_of(name: str, args: Sequence[Any], out: Any) -> int:
    """Multiply-accumulates of a convolution or matrix product; 0 for anything else."""
    if name in ("convolution", "_convolution"):
        return conv_macs(args[0], args[1], out, bool(args[6]))
    if name in ("mm", "addmm", "bmm", "baddbmm"):
        return matmul_macs(name, args)
    return 0


def _window(kernel: Any) -> int:
    kernel = list(kernel) if isinstance(kernel, (list, tuple)) else [kernel]
    return _numel(kernel if len(kernel) > 1 else kernel * 2)


def other_ops_of(name: str, args: Sequence[Any], out: Any) -> tuple[str, int] | None:
    """``(kind, count)`` of a non-MAC operator that computes, or ``None``."""
    first_out = out[0] if isinstance(out, (tuple, list)) else out
    if not isinstance(first_out, torch.Tensor):
        return None
    out_elements = first_out.numel()
    if name in NORM_OPS:
        return "norm", out_elements
    if name in ACTIVATION_OPS:
        return "activation", out_elements
    if name in ELEMENTWISE_OPS:
        return "elementwise", out_elements
    if name in SOFTMAX_OPS:
        return "softmax", out_elements
    if name in WINDOW_POOL_OPS:
        return "pool", out_elements * _window(args[1])
    if name in GLOBAL_POOL_OPS and isinstance(args[0], torch.Tensor):
        return "pool", args[0].numel()
    if name in COPY_OPS:
        return "copy", out_elements
    return None
