# SPDX-License-Identifier: MIT
"""A time budget: a clock with a limit, and how many steps fit in what is left of it.

``convzoo compare --budget``, the lab's experiments and ``convzoo demo`` all run "as much as fits in N
minutes on this machine": they time a step, then ask how many steps fit. They ask a :class:`Budget`, which
owns the clock, so what "time left" means is decided here and once: the seconds allowed, less those spent
(also by an earlier, resumed part of the same run), less a safety margin on what is left (timings on a
shared machine drift), less a reserve for work after the planned part (writing the report).

The clock is read through ``time.perf_counter`` at each call, not captured once, so a test can stand a
fake clock in for the whole run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def now() -> float:
    return time.perf_counter()


@dataclass
class Budget:
    """``seconds`` of wall time from ``started`` (a ``perf_counter`` reading), ``spent_before`` of them used already."""

    seconds: float
    spent_before: float = 0.0  # by an earlier run of the same job (a resumed comparison)
    safety: float = 1.0  # plan for this fraction of what is left; the rest absorbs drift
    reserve_s: float = 0.0  # kept back from planning for the work after it
    # read at creation through the module's ``now``, so a fake clock stood in for it also starts the budget
    started: float = field(default_factory=lambda: now())

    @classmethod
    def minutes(cls, minutes: float, **kwargs) -> Budget:
        return cls(minutes * 60, **kwargs)

    def elapsed(self) -> float:
        """Seconds spent so far, those of earlier runs included."""
        return self.spent_before + now() - self.started

    def left(self) -> float:
        """Seconds until the budget is spent (negative once it is overrun)."""
        return self.seconds - self.elapsed()

    def for_planning(self, elapsed: float | None = None) -> float:
        """Seconds that planned work may take: the safety fraction of what is left, less the reserve.

        What is left is read from the clock, or computed for ``elapsed`` seconds spent (a plan made from a
        measured probe, reproducible from its numbers).
        """
        left = self.left() if elapsed is None else self.seconds - elapsed
        return self.safety * left - self.reserve_s

    def fits(self, estimate_s: float) -> bool:
        """Whether work estimated at ``estimate_s`` ends before the budget does."""
        return estimate_s <= self.left()

    def steps(self, per_step_s: float, *, maximum: int, fixed_s: float = 0.0) -> int:
        """Steps of ``per_step_s`` seconds (after ``fixed_s`` of set-up) that fit :meth:`for_planning`."""
        return steps_that_fit(self.for_planning(), per_step_s, maximum=maximum, fixed_s=fixed_s)


def steps_that_fit(seconds: float, per_step_s: float, *, maximum: int, fixed_s: float = 0.0) -> int:
    """Whole steps of ``per_step_s`` seconds that fit ``seconds`` after ``fixed_s``, at most ``maximum``.

    May be below any useful minimum, or negative: whether to run fewer steps, leave work out or run a
    minimum anyway is the caller's decision.
    """
    if per_step_s <= 0:
        return maximum
    return min(maximum, int((seconds - fixed_s) / per_step_s))
