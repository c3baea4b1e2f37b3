# SPDX-License-Identifier: MIT
"""Lab.reserve: the time kept back for the measurements after training (a slow first timing once starved a run)."""

from __future__ import annotations

import pytest

from convzoo.experiments import lab as lab_module
from convzoo.experiments.lab import Lab


@pytest.fixture
def clock(monkeypatch):
    """A fake clock that ``measure_once`` advances by the next of the given durations."""
    state = {"time": 0.0, "durations": []}
    monkeypatch.setattr(lab_module, "now", lambda: state["time"])

    def measure_once():
        state["time"] += state["durations"].pop(0)

    return state, measure_once


def test_the_faster_of_two_timings_counts(tmp_path, clock):
    state, measure_once = clock
    state["durations"] = [9.0, 2.0]  # a cold first call, then the real cost
    assert Lab("gradients", tmp_path, 15, False).reserve(measure_once, times=8) == 16.0
    assert state["durations"] == []  # timed exactly twice


def test_the_reserve_is_capped_at_a_share_of_the_budget(tmp_path, clock):
    state, measure_once = clock
    state["durations"] = [40.0, 40.0]  # 40 s × 8 = 320 s, more than half of a 5-minute budget
    assert Lab("gradients", tmp_path, 5, False).reserve(measure_once, times=8) == pytest.approx(0.5 * 300)


def test_quick_runs_reserve_nothing_and_measure_nothing(tmp_path, clock):
    state, measure_once = clock
    state["durations"] = [1.0, 1.0]
    assert Lab("gradients", tmp_path, 15, True).reserve(measure_once, times=8) == 0.0
    assert state["durations"] == [1.0, 1.0]
