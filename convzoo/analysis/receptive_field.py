# SPDX-License-Identifier: MIT
"""Theoretical receptive field, tracked through the operators of a forward pass.

For a stack of layers with kernel k_l, stride s_l and dilation d_l the
receptive field r and the jump j (distance in input pixels between
neighbouring outputs, the cumulative stride) follow

    r_l = r_{l-1} + (k_l - 1)·d_l·j_{l-1},    j_l = j_{l-1}·s_l,    r_0 = j_0 = 1

(Araujo et al. 2019, "Computing Receptive Fields of Convolutional Neural
Networks", Distill). Tracking (r, j) per *tensor* rather than per layer
handles any topology: where branches meet (a residual sum, an inception
concatenation) the output sees the largest field of its inputs. Global and
adaptive pooling act as a kernel the size of the whole map. The theoretical
field can exceed the image (it counts the padding); the effective one is smaller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Field:
    """Receptive field and jump along height and width, in input pixels."""

    rf: tuple[int, int] = (1, 1)
    jump: tuple[int, int] = (1, 1)

    def through(self, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int] = (1, 1)) -> Field:
        rf = tuple(r + (k - 1) * d * j for r, k, d, j in zip(self.rf, kernel, dilation, self.jump, strict=True))
        jump = tuple(j * s for j, s in zip(self.jump, stride, strict=True))
        return Field(rf, jump)  # type: ignore[arg-type]

    @staticmethod
    def widest(fields: Sequence[Field]) -> Field:
        if not fields:
            return Field()
        rf = tuple(max(f.rf[i] for f in fields) for i in range(2))
        jump = tuple(max(f.jump[i] for f in fields) for i in range(2))
        return Field(rf, jump)  # type: ignore[arg-type]


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        return (int(value[0]), int(value[-1])) if value else (1, 1)
    return int(value), int(value)


def propagate(name: str, args: Sequence[Any], field: Field) -> Field:
    """The field of an operator's output, given the widest field among its inputs."""
    if name in ("convolution", "_convolution") and not args[6]:
        kernel = tuple(args[1].shape[2:])
        return field.through(kernel, _pair(args[3]), _pair(args[5]))
    if name in ("max_pool2d_with_indices", "max_pool2d", "avg_pool2d"):
        kernel = _pair(args[1])
        stride = _pair(args[2]) if len(args) > 2 and args[2] else kernel
        dilation = _pair(args[4]) if name != "avg_pool2d" and len(args) > 4 else (1, 1)
        return field.through(kernel, stride, dilation)
    if name in ("_adaptive_avg_pool2d", "adaptive_avg_pool2d"):
        x, out_size = args[0], _pair(args[1])
        in_size = tuple(x.shape[-2:])
        kernel = tuple(-(-i // o) for i, o in zip(in_size, out_size, strict=True))  # ceil(in / out)
        stride = tuple(max(i // o, 1) for i, o in zip(in_size, out_size, strict=True))
        return field.through(kernel, stride)
    if name in ("mean", "sum") and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
        dims = args[1] if len(args) > 1 and args[1] is not None else [0, 1, 2, 3]
        dims = {d % 4 for d in (dims if isinstance(dims, (list, tuple)) else [dims])}
        if {2, 3} <= dims:
            return field.through(tuple(args[0].shape[-2:]), (1, 1))
    return field
