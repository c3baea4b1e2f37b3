# SPDX-License-Identifier: MIT
"""Timing done right: warm-up, interleaved repeats, median and p90.

Absolute times on a shared 2-core machine drift by several percent from minute
to minute; running the candidates *interleaved* (A, B, A, B, …) in one
process exposes them to the same drift, so their ratio holds. CUDA work is
timed with events after a synchronize, not with the host clock.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch


class Runner(NamedTuple):
    """A candidate to time: the call, and how far its outputs are from the original model's (max |difference| /
    max |original| on the timed input; 0 for the original itself, None where the outputs are not comparable, as
    a training step's)."""

    call: Callable[[], object]
    relative_difference: float | None


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of one call, over ``len(samples)`` repeats."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _timed_call(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(device)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize(device)
        return start.elapsed_time(end) / 1000.0
    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


def time_interleaved(
    candidates: dict[str, Callable[[], object]],
    *,
    warmup: int = 2,
    repeats: int = 7,
    device: torch.device | str = "cpu",
) -> dict[str, Timing]:
    """Time each candidate ``repeats`` times, round-robin, after ``warmup`` untimed calls each."""
    device = torch.device(device)
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            samples[name].append(_timed_call(fn, device))
    return {name: Timing(tuple(values)) for name, values in samples.items()}
