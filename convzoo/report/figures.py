# SPDX-License-Identifier: MIT
"""The compare report's figures, in its order: published top-1 against latency measured here first.

Which points each figure shows and how they are labelled is decided here, from the results; the
drawing itself is :mod:`convzoo.report.plots`.
"""

from __future__ import annotations

from pathlib import Path

from .columns import cpu_label, gmacs_points
from .frontier import Point, frontier_points, pareto_frontier
from .full_runs import load_runs
from .plots import (
    plot_accuracy_vs_gmacs,
    plot_latency_vs_gmacs,
    plot_params_by_family,
    published_top1_figure,
    save_figure,
)


def plots(results: dict, out: Path, full_runs: str | Path | None = None) -> dict[str, Path]:
    """The plots, in the report's order: the published-accuracy frontier first."""
    rows = [r for r in results["rows"] if r.get("gmacs") is not None]
    full = load_runs(full_runs)
    accuracy_rows = [r | {"test_top1": full[r["model"]].mean} for r in rows if r["model"] in full]
    made = {
        "top1_vs_latency": plot_top1_vs_latency(results, out / "top1_vs_latency.png"),
        "top1_vs_gmacs": plot_top1_vs_gmacs(results, out / "top1_vs_gmacs.png"),
        "latency_vs_gmacs": plot_latency_vs_gmacs(rows, out / "latency_vs_gmacs.png"),
        "params_by_family": plot_params_by_family([r for r in rows if r.get("params")], out / "params_by_family.png")
        if rows
        else None,
        "accuracy_vs_gmacs": plot_accuracy_vs_gmacs(
            accuracy_rows,
            out / "accuracy_vs_gmacs.png",
            "Fashion-MNIST top-1 after full training vs GMACs (recorded runs; see the table for seeds and epochs)",
        )
        if accuracy_rows
        else None,
    }
    return {name: path for name, path in made.items() if path is not None}


def _figure_rows(results: dict, points: list[Point], x_key: str) -> list[dict]:
    by_model = {r["model"]: r for r in results["rows"]}
    return [
        {
            "model": p.model,
            "family": by_model[p.model]["family"],
            "top1": p.top1,
            x_key: p.latency_ms,
            "resolution": by_model[p.model]["published"]["resolution"],
        }
        for p in points
    ]


def top1_vs_latency_figure(results: dict):
    """The first plot, not yet saved (tests read its labels): published top-1 against latency measured here."""
    points = frontier_points(results["rows"])
    if not points:
        return None
    frontier = [p.model for p in pareto_frontier(points)]
    return published_top1_figure(
        _figure_rows(results, points, "latency_ms"),
        "latency_ms",
        frontier,
        title=f"Published ImageNet-1k top-1 vs batch-1 latency measured on this machine ({cpu_label(results)})",
        xlabel="batch-1 latency here, eager fp32, at the published figure's input size (ms, log scale)",
        frontier_label="Pareto frontier on this machine",
    )


def top1_vs_gmacs_figure(results: dict):
    points = gmacs_points(results["rows"])
    if not points:
        return None
    frontier = [p.model for p in pareto_frontier(points)]
    return published_top1_figure(
        _figure_rows(results, points, "gmacs"),
        "gmacs",
        frontier,
        title="Published ImageNet-1k top-1 vs GMACs (the cost model)",
        xlabel="GMACs at the published figure's input size (log scale)",
        frontier_label="Pareto frontier in GMACs",
    )


def plot_top1_vs_latency(results: dict, path: Path) -> Path | None:
    figure = top1_vs_latency_figure(results)
    return save_figure(figure, path) if figure is not None else None


def plot_top1_vs_gmacs(results: dict, path: Path) -> Path | None:
    figure = top1_vs_gmacs_figure(results)
    return save_figure(figure, path) if figure is not None else None
