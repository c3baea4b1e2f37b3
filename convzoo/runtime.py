# SPDX-License-Identifier: MIT
"""What this machine can do, and the device, precision and process choices that follow from it.

bench, deploy, training and evaluation ask here, never each other:
- the CPU kind (the instruction sets that decide speed: AVX2, AVX-512, AVX-512 BF16, AMX, VNNI), recorded with
  every measured figure;
- whether bf16 is native (AVX-512 BF16 or AMX; elsewhere it is emulated and slow);
- the device (``auto`` picks CUDA when present) and the autocast dtype;
- the process context of a ``torchrun`` job (rank, world size), which evaluation needs to sum its counts.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.distributed as dist

from .errors import OptionError

# What an AVX2-only CPU runs, on a bigger one: PyTorch's own kernels and oneDNN's, each limited to AVX2
AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def rerun_limited_to_avx2() -> None:
    """Replace this process by the same command with PyTorch limited to AVX2 (a no-op once it is).

    The limits are read when torch loads, so a running process cannot take them; a benchmark's ``--avx2``
    calls this first. :func:`cpu_kind` then labels every figure "AVX2 (limited ... on AMX)".
    """
    if all(os.environ.get(name) == value for name, value in AVX2_ONLY.items()):
        return
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **AVX2_ONLY})


ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "avx512_vnni", "avx_vnni", "fma")


@lru_cache(maxsize=1)
def cpu_kind() -> dict:
    """The CPU's model name and the instruction sets that matter for speed, from /proc/cpuinfo."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    isa = [flag for flag in ISA_FLAGS if flag in flags]
    label = cpu_label(isa)
    # torch can be told to use fewer instructions than the CPU has (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA):
    # a way to measure, on one machine, what a machine with only AVX2 would do. Say so in the label.
    capability = torch.backends.cpu.get_cpu_capability()
    if capability in ("AVX2", "DEFAULT") and label not in ("AVX2", "other"):
        label = f"AVX2 (limited by ATEN_CPU_CAPABILITY/ONEDNN_MAX_CPU_ISA on {label})"
    return {
        "model": model,
        "isa": isa,
        "label": label,
        "torch_capability": capability,
        "bf16_native": cpu_supports_bf16(),
    }


def cpu_label(isa: list[str]) -> str:
    """A short name for the CPU kind: ``AMX``, ``AVX-512 BF16``, ``AVX-512``, ``AVX2`` or ``other``."""
    if "amx_tile" in isa:
        return "AMX"
    if "avx512_bf16" in isa:
        return "AVX-512 BF16"
    if "avx512f" in isa:
        return "AVX-512"
    return "AVX2" if "avx2" in isa else "other"


def cpu_supports_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise OptionError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` ('auto', 'none', 'bf16', 'fp16') on ``device``, or None for fp32."""
    if amp == "none":
        return None
    if device.type == "cuda":
        if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()):
            return torch.float16
        return torch.bfloat16
    if amp == "fp16":
        raise OptionError("fp16 autocast is for CUDA; on CPU use --amp bf16")
    if not cpu_supports_bf16():
        if amp == "bf16":
            raise OptionError("this CPU has no native bf16 support (AVX-512 BF16/AMX); use --amp none")
        return None
    return torch.bfloat16


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@dataclass(frozen=True)
class Context:
    """Where this process runs: its rank among ``world_size`` processes and its device."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def local_world_size(self) -> int:
        """Processes on this node (torchrun's ``LOCAL_WORLD_SIZE``), which share its CPU cores."""
        return int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if self.distributed else 1


def decoding_workers(processes_on_node: int = 1) -> int:
    """Image-decoding worker processes for one training process: this machine's usable cores shared by the
    processes on the node, at most 8 (more rarely pays: decoding then waits on the disk)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cores // max(1, processes_on_node)))


def all_reduce_sum(tensor: torch.Tensor, context: Context) -> torch.Tensor:
    if context.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_max(tensor: torch.Tensor, context: Context) -> torch.Tensor:
    if context.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor
