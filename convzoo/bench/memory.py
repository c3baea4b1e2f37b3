"""Peak memory of one call: CUDA's allocator statistics, or the CPU allocator events of torch's profiler."""

from __future__ import annotations

from typing import Callable

import torch


def peak_memory_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """Bytes allocated at the peak of ``fn()`` beyond what was allocated before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e for e in prof.events() if e.cpu_memory_usage != 0), key=lambda e: e.time_range.start
    )  # allocations are positive, frees negative
    current = peak = 0
    for event in events:
        if event.name == "[memory]":
            current += event.cpu_memory_usage
            peak = max(peak, current)
    return peak
