# SPDX-License-Identifier: MIT
"""Multi-process data parallel through ``torchrun`` (gloo on CPU, NCCL on CUDA).

``torchrun --nproc_per_node N -m convzoo train ...`` sets RANK and WORLD_SIZE;
each process then trains on every N-th example and gradients are averaged by
``DistributedDataParallel``. Only rank 0 writes files and prints.
"""

from __future__ import annotations

import os
import warnings

import torch
import torch.distributed as dist

from ..runtime import Context, all_reduce_max, all_reduce_sum, resolve_device

__all__ = ["Context", "all_reduce_max", "all_reduce_sum", "any_rank", "resolve_device", "setup", "teardown"]


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


def teardown(context: Context, *, finished: bool = True) -> None:
    """Leave the process group; when every rank ``finished`` normally, leave it together.

    Without the barrier a rank that finishes first tears down its gloo
    connections while rank 0 still writes checkpoints, and the process can
    abort at exit ("terminate called without an active exception"; seen in
    about 1 run in 5 of the two-process test). After an error the peers may be
    inside a different collective, so no barrier then: it could wait forever.
    """
    if not (context.distributed and dist.is_initialized()):
        return
    try:
        if finished:
            dist.barrier()
    finally:
        dist.destroy_process_group()


def any_rank(flag: bool, context: Context) -> bool:
    """True if ``flag`` holds on any process, so that all take the same branch (one tiny all-reduce)."""
    if not context.distributed:
        return flag
    return bool(all_reduce_max(torch.tensor([float(flag)], device=context.device), context).item())


def wrap_for_ranks(model: torch.nn.Module, context: Context, *, find_unused_parameters: bool) -> torch.nn.Module:
    """The module the loop calls: ``model`` itself on one process, under DistributedDataParallel under torchrun."""
    if not context.distributed:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=find_unused_parameters
    )
