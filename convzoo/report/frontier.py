# SPDX-License-Identifier: MIT
"""The accuracy–latency frontier on this machine: which models no other model beats on both axes.

Published ImageNet-1k top-1 is what practitioners choose weights by; what no published table gives them is
that figure set against the latency on *their* machine. A model is on the Pareto frontier when no other
model is at least as fast and at least as accurate, and strictly better on one of the two. The frontier,
read from fastest to slowest, says what each step up in accuracy costs here.

Pure functions on plain numbers, so the frontier and its sentence are tested on fixed data.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

NOISE_RATIO = 1.10  # latency ratios below this are within the run-to-run spread of a short timing on a shared CPU


@dataclass(frozen=True)
class Point:
    model: str
    latency_ms: float  # measured here, batch 1, at the resolution of the published figure
    top1: float  # published ImageNet-1k top-1 (%) of the model's released weights


def dominates(a: Point, b: Point) -> bool:
    """``a`` is at least as fast and as accurate as ``b``, and strictly better on one of the two."""
    no_worse = a.latency_ms <= b.latency_ms and a.top1 >= b.top1
    return no_worse and (a.latency_ms < b.latency_ms or a.top1 > b.top1)


def pareto_frontier(points: list[Point]) -> list[Point]:
    """The points no other point dominates, fastest first (exact ties both stay: neither dominates)."""
    kept = [p for p in points if not any(dominates(q, p) for q in points)]
    return sorted(kept, key=lambda p: (p.latency_ms, -p.top1, p.model))


def _step(a: Point, b: Point) -> str:
    ratio = b.latency_ms / a.latency_ms
    cost = f"{ratio:.1f}× the latency"
    if ratio < NOISE_RATIO:
        cost += " (within timing noise)"
    return f"from {a.model} to {b.model}, {b.top1 - a.top1:+.1f} points (published) for {cost}"


def frontier_sentence(points: list[Point], cpu_kind: str) -> str:
    """The frontier on this machine and what each step along it costs, in one sentence."""
    frontier = pareto_frontier(points)
    where = f"On this machine ({cpu_kind} CPU)"
    if not frontier:
        return f"{where}, no model has both a published top-1 and a measured latency, so there is no frontier."
    chain = " → ".join(p.model for p in frontier)
    head = f"{where}, the frontier of published ImageNet-1k top-1 against batch-1 latency measured here is {chain}"
    if len(frontier) == 1:
        return f"{head}: it is both the fastest and the most accurate (published) of the models timed."
    steps = "; ".join(_step(a, b) for a, b in pairwise(frontier))
    return f"{head}: {steps}."


def latency_for_published(row: dict) -> float | None:
    """Batch-1 latency at the input size of the published figure (224 unless the weights say otherwise)."""
    published = row.get("published") or {}
    if published.get("resolution", 224) != 224:
        return row.get("latency_b1_ms_published_px")
    return row.get("latency_b1_ms")


def frontier_points(rows: list[dict]) -> list[Point]:
    """The rows with both a published top-1 and a measured latency; the others are placed by cost alone."""
    points = []
    for row in rows:
        latency, published = latency_for_published(row), row.get("published")
        if latency is not None and published and published.get("top1") is not None:
            points.append(Point(row["model"], latency, published["top1"]))
    return points
