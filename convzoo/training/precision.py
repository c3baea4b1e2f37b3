"""Mixed precision: bf16 autocast on CPUs that support it (AVX-512 BF16 / AMX), bf16 or fp16 on CUDA."""

from __future__ import annotations

import contextlib

import torch


def cpu_supports_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` ('auto', 'none', 'bf16', 'fp16') on ``device``, or None for fp32."""
    if amp == "none":
        return None
    if device.type == "cuda":
        if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()):
            return torch.float16
        return torch.bfloat16
    if amp == "fp16":
        raise ValueError("fp16 autocast is for CUDA; on CPU use --amp bf16")
    if not cpu_supports_bf16():
        if amp == "bf16":
            raise ValueError("this CPU has no native bf16 support (AVX-512 BF16/AMX); use --amp none")
        return None
    return torch.bfloat16


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
