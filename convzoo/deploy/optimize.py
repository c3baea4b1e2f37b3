# SPDX-License-Identifier: MIT
"""Inference optimization: fold batch norm, channels-last, optional bf16 and ``torch.compile``.

- In eval mode a BatchNorm after a convolution is an affine map per channel,
  so it folds into the convolution's weights and bias
  (``torch.nn.utils.fusion.fuse_conv_bn_eval``): one pass over memory less.
- Channels-last (NHWC) is the layout oneDNN's and cuDNN's fastest convolution
  kernels use.
- bf16 weights and activations use AVX-512 BF16/AMX on CPU (tensor cores on
  CUDA); checked for support first.
- ``torch.compile`` (Inductor) fuses the element-wise operations; on CPU with
  *freezing*, weights become constants and are pre-packed for oneDNN.
- int8 (CPU): static PT2E quantization calibrated on real batches, compiled into
  oneDNN int8 convolutions (:mod:`convzoo.deploy.int8_pt2e`).

``optimize`` returns the optimized model only after checking that its outputs
match the original's on the example input (tolerance by dtype), together with
an ``OptimizationReport`` that says what was done and how close it came.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..errors import ExportError, OptionError
from ..runtime import cpu_supports_bf16

TOLERANCE = {"fp32": 1e-3, "bf16": 0.1, "int8": 0.25}  # max |difference| / max |reference| of the logits


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every BatchNorm2d that directly follows a Conv2d inside a Sequential; returns how many."""
    folded = 0
    for container in model.modules():
        if not isinstance(container, nn.Sequential):
            continue
        names = list(container._modules)
        for first, second in itertools.pairwise(names):
            conv, norm = container._modules[first], container._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                container._modules[first] = fuse_conv_bn_eval(conv, norm)
                container._modules[second] = nn.Identity()
                folded += 1
    return folded


def check_dtype_supported(dtype: str, device: torch.device) -> None:
    if dtype not in TOLERANCE:
        raise OptionError(f"dtype must be fp32, bf16 or int8, got {dtype!r}")
    if dtype == "int8" and device.type != "cpu":
        raise OptionError("int8 runs on the CPU's oneDNN kernels; use bf16 (or fp16 autocast) on CUDA")
    if dtype == "bf16" and device.type == "cpu" and not cpu_supports_bf16():
        raise OptionError(
            "this CPU has no native bf16 (AVX-512 BF16 or AMX); bf16 would be emulated and slow: use fp32"
        )
    if dtype == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise OptionError("this GPU does not support bf16; use fp32")


def relative_difference(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours.float() - reference.float()).abs().max() / reference.float().abs().max().clamp_min(1e-12)).item()


@dataclass(frozen=True)
class OptimizationReport:
    dtype: str
    compiled: bool
    channels_last: bool
    folded_batch_norms: int
    max_relative_difference: float  # max |optimized - original| / max |original| on the example input


class Optimized(NamedTuple):
    module: nn.Module
    report: OptimizationReport


@torch.no_grad()
def optimize(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    dtype: str = "fp32",
    compile: bool = False,
    channels_last: bool = True,
    calibration: Iterable[torch.Tensor] | None = None,
) -> Optimized:
    """An optimized copy of ``model`` for inference on ``example_input``'s device (see module docstring).

    ``dtype="int8"`` needs ``calibration``, a few batches of real (normalized) images, and compiles
    (an uncompiled int8 graph runs fp32 kernels). Raises ``ExportError`` when the copy's logits differ
    from the original's by more than the dtype allows, or when a convolution stayed in fp32.
    """
    device = example_input.device
    check_dtype_supported(dtype, device)
    reference = model.eval()(example_input)
    if dtype == "int8":
        return _int8(model, example_input, reference, calibration)
    optimized = copy.deepcopy(model).eval()
    folded = fold_batch_norms(optimized)
    if channels_last:
        optimized = optimized.to(memory_format=torch.channels_last)
    torch_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    optimized = optimized.to(torch_dtype)
    runner: nn.Module = _InputCast(optimized, torch_dtype, channels_last)
    if compile:
        runner = _compiled(runner, device)
    difference = relative_difference(runner(example_input), reference)
    if difference > TOLERANCE[dtype]:
        raise ExportError(
            f"optimized model differs from the original by {difference:.2e} (> {TOLERANCE[dtype]}) in {dtype}"
        )
    return Optimized(runner, OptimizationReport(dtype, compile, channels_last, folded, difference))


def _int8(
    model: nn.Module,
    example_input: torch.Tensor,
    reference: torch.Tensor,
    calibration: Iterable[torch.Tensor] | None,
) -> Optimized:
    from .int8_pt2e import quantize_pt2e

    if calibration is None:
        raise OptionError("int8 needs calibration batches of real images (the activations' scales come from them)")
    quantized = quantize_pt2e(copy.deepcopy(model), example_input, calibration)
    norms = sum(isinstance(module, nn.BatchNorm2d) for module in model.modules())
    left = sum("batch_norm" in str(node.target) for node in quantized.graph.nodes)
    folded = norms - left  # preparing folds each batch norm that follows a convolution
    # Inductor's int8 convolutions pick their own (channels-last) layout. On torch 2.14 their lowering fails a
    # stride check with a symbolic batch size, so each batch size gets its own static compilation (dynamic=False)
    runner = _compiled(_InputCast(quantized, torch.float32, channels_last=False), example_input.device, dynamic=False)
    difference = relative_difference(runner(example_input), reference)
    if difference > TOLERANCE["int8"]:
        raise ExportError(f"the int8 model differs from the original by {difference:.2e} (> {TOLERANCE['int8']})")
    return Optimized(runner, OptimizationReport("int8", True, False, folded, difference))


class _InputCast(nn.Module):
    """Casts inputs to the model's dtype and layout, and logits back to fp32."""

    def __init__(self, model: nn.Module, dtype: torch.dtype, channels_last: bool) -> None:
        super().__init__()
        self.model, self.dtype, self.channels_last = model, dtype, channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x).float()


def _compiled(module: nn.Module, device: torch.device, dynamic: bool | None = None) -> nn.Module:
    if device.type == "cpu":
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True  # weights become constants, pre-packed for oneDNN
    return torch.compile(module, dynamic=dynamic)
