"""Multi-process data parallel through ``torchrun`` (gloo on CPU, NCCL on CUDA).

``torchrun --nproc_per_node N -m convzoo train ...`` sets RANK and WORLD_SIZE;
each process then trains on every N-th example and gradients are averaged by
``DistributedDataParallel``. Only rank 0 writes files and prints.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def setup(device_name: str) -> Context:
    """Join the process group if launched by torchrun; otherwise a single-process context."""
    device = resolve_device(device_name)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Context(device=device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    # A 1-channel stem's weight gradient has equivalent but differently written strides; DDP warns needlessly.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return Context(rank=rank, world_size=world_size, device=device)


def all_reduce_sum(tensor: torch.Tensor, context: Context) -> torch.Tensor:
    if context.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def teardown(context: Context) -> None:
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()
