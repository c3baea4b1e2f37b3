# SPDX-License-Identifier: MIT
"""Plots with matplotlib (headless Agg backend), written as PNG files.

The accuracy–cost plots label every point; :func:`place_labels` moves each label to the first nearby
spot where it overlaps no other label and no point, because an unreadable label defeats the plot.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch

from .. import files
from ..plotting import log_scale, pyplot


def plot_confusion(confusion: torch.Tensor, classes: list[str], path: str | Path, title: str) -> Path:
    """Row-normalized confusion matrix (true class down, prediction across), counts in the cells."""
    plt = pyplot()
    counts = confusion.double()
    rates = counts / counts.sum(1, keepdim=True).clamp_min(1)
    size = max(5.0, 0.55 * len(classes) + 2)
    figure, axes = plt.subplots(figsize=(size, size * 0.9))
    image = axes.imshow(rates.numpy(), cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if len(classes) <= 20:
        for i in range(len(classes)):
            for j in range(len(classes)):
                axes.text(
                    j,
                    i,
                    int(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black",
                )
    figure.colorbar(image, ax=axes, fraction=0.046, label="fraction of the true class")
    figure.tight_layout()
    path = files.write_figure(path, figure, dpi=120)
    plt.close(figure)
    return path


FAMILY_COLORS = {}


def _color(family: str):
    import matplotlib

    palette = matplotlib.colormaps["tab20"].colors
    if family not in FAMILY_COLORS:
        FAMILY_COLORS[family] = palette[len(FAMILY_COLORS) % len(palette)]
    return FAMILY_COLORS[family]


def _labelled_scatter(
    rows: list[dict],
    x_key: str,
    y_key: str,
    path: Path,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    size_key: str | None = None,
    min_y_span: float | None = None,
) -> Path | None:
    points = [r for r in rows if r.get(x_key) is not None and r.get(y_key) is not None]
    if not points:
        return None
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(8, 5.5))
    largest = max((r[size_key] for r in points), default=1) if size_key else 1
    for row in points:
        size = 40 + 1400 * (row[size_key] / largest) ** 0.5 if size_key else 60
        axes.scatter(
            row[x_key], row[y_key], s=size, color=_color(row["family"]), alpha=0.6, edgecolors="black", linewidths=0.5
        )
        axes.annotate(row["model"], (row[x_key], row[y_key]), fontsize=8, xytext=(4, 4), textcoords="offset points")
    log_scale(axes, "x", minor_labels=True)
    if min_y_span is not None:  # an axis zoomed onto a 1-point gap would draw noise as a ranking
        values = [r[y_key] for r in points]
        middle, span = (max(values) + min(values)) / 2, max(min_y_span, max(values) - min(values)) * 1.2
        axes.set_ylim(middle - span / 2, middle + span / 2)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    files.write_figure(path, figure, dpi=110)
    plt.close(figure)
    return Path(path)


def plot_accuracy_vs_gmacs(
    rows: list[dict], path: str | Path, title: str = "Accuracy vs GMACs (bubble area: parameters)"
) -> Path | None:
    """Accuracy against multiply-adds, bubble area by parameters (EfficientNet paper, Fig. 1).

    The accuracy axis spans at least 10 points, so a gap within seed-to-seed noise does not fill the plot.
    """
    return _labelled_scatter(
        [r | {"accuracy_pct": 100 * r["test_top1"]} if r.get("test_top1") is not None else r for r in rows],
        "gmacs",
        "accuracy_pct",
        Path(path),
        title=title,
        xlabel="GMACs at 224×224 (log scale)",
        ylabel="test top-1 (%)",
        size_key="params",
        min_y_span=10.0,
    )


def plot_latency_vs_gmacs(rows: list[dict], path: str | Path) -> Path | None:
    return _labelled_scatter(
        rows,
        "gmacs",
        "latency_b1_ms",
        Path(path),
        title="CPU latency (batch 1, eager) vs GMACs",
        xlabel="GMACs at 224×224 (log scale)",
        ylabel="latency (ms)",
    )


def plot_params_by_family(rows: list[dict], path: str | Path) -> Path:
    plt = pyplot()
    ordered = sorted(rows, key=lambda r: (r["family"], r["params"]))
    figure, axes = plt.subplots(figsize=(8, 0.35 * len(ordered) + 1.5))
    axes.barh(
        [r["model"] for r in ordered],
        [r["params"] / 1e6 for r in ordered],
        color=[_color(r["family"]) for r in ordered],
    )
    for index, row in enumerate(ordered):
        axes.text(row["params"] / 1e6, index, f" {row['params'] / 1e6:.1f}M", va="center", fontsize=8)
    log_scale(axes, "x")
    axes.set_xlabel("parameters (millions, log scale)")
    axes.set_title("Parameters per model, coloured by family")
    figure.tight_layout()
    files.write_figure(path, figure, dpi=110)
    plt.close(figure)
    return Path(path)


# Offsets (points) tried for a label, nearest first: right, above, left, below, then the diagonals, farther out.
_DIRECTIONS = [(1, 0.3), (0, 1), (-1, 0.3), (0, -1.4), (1, 1), (-1, 1), (1, -1.2), (-1, -1.2)]
_OFFSETS = [(6 * r * dx, 6 * r * dy) for r in (1, 2.2, 3.6, 5.2) for dx, dy in _DIRECTIONS]


def _annotate(axes, label: str, point: tuple[float, float], offset: tuple[float, float], fontsize: float, **extra):
    """``label`` at ``offset`` points from ``point``, aligned away from it."""
    dx = offset[0]
    return axes.annotate(
        label,
        point,
        xytext=offset,
        textcoords="offset points",
        fontsize=fontsize,
        ha="left" if dx > 0 else "right" if dx < 0 else "center",
        va="center",
        **extra,
    )


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def place_labels(axes, points: list[tuple[float, float, str]], fontsize: float = 8) -> list:
    """Annotate each ``(x, y, label)``: the first offset whose text overlaps no placed label, no point and stays
    inside the axes; where none does, the least overlapping one. A label moved away gets a thin leader line."""
    from matplotlib.transforms import Bbox

    figure = axes.figure
    figure.canvas.draw()  # fixes the axes limits and the transforms
    renderer = figure.canvas.get_renderer()
    inside = axes.get_window_extent(renderer)
    to_pixels = figure.dpi / 72
    markers = []
    for x, y, _ in points:
        px, py = axes.transData.transform((x, y))
        markers.append(Bbox.from_extents(px - 5, py - 5, px + 5, py + 5))
    placed, texts = [], []
    for (x, y, label), own in zip(points, markers, strict=True):
        best = None
        for dx, dy in _OFFSETS:
            text = _annotate(axes, label, (x, y), (dx, dy), fontsize)
            box = text.get_window_extent(renderer)
            clash = sum(_overlap(box, other) for other in placed) + sum(
                _overlap(box, m) for m in markers if m is not own
            )
            clash += box.width * box.height - _overlap(box, inside)  # any part outside the axes
            if best is None or clash < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clash, text, box, (dx, dy))
            else:
                text.remove()
            if clash == 0:
                break
        _, text, box, (dx, dy) = best
        if (dx**2 + dy**2) ** 0.5 * to_pixels > 12:
            text.remove()
            leader = {"arrowstyle": "-", "color": "0.5", "lw": 0.6, "shrinkA": 0, "shrinkB": 4}
            text = _annotate(axes, label, (x, y), (dx, dy), fontsize, arrowprops=leader)
        placed.append(box)
        texts.append(text)
    return texts


def published_top1_figure(
    rows: list[dict], x_key: str, frontier: list[str], *, title: str, xlabel: str, frontier_label: str
):
    """Published top-1 (y) against a measured cost (x, log), the frontier drawn as a line through its models.

    ``rows``: dicts with ``model``, ``family``, ``top1``, ``x_key`` and ``resolution``; a point whose published
    figure is at another size than 224 says so in its label. Returns the figure, not yet saved (tests read it).
    """
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(9, 6))
    on = set(frontier)
    for row in rows:
        axes.scatter(
            row[x_key],
            row["top1"],
            s=70 if row["model"] in on else 45,
            color=_color(row["family"]),
            edgecolors="black",
            linewidths=1.4 if row["model"] in on else 0.5,
            zorder=3,
        )
    by_model = {row["model"]: row for row in rows}
    if frontier:
        line = [by_model[name] for name in frontier]
        axes.plot(
            [r[x_key] for r in line],
            [r["top1"] for r in line],
            "-",
            color="tab:red",
            lw=1.5,
            alpha=0.7,
            zorder=2,
            label=frontier_label,
        )
        axes.legend(loc="lower right", fontsize=8)
    log_scale(axes, "x", minor_labels=True)  # 30, not 3×10¹: these axes are read, not admired
    values = [r["top1"] for r in rows]
    axes.set_ylim(min(values) - 3, max(values) + 3)  # room for the labels above and below
    low, high = min(r[x_key] for r in rows), max(r[x_key] for r in rows)
    axes.set_xlim(low / 1.6, high * 1.6)
    axes.tick_params(axis="x", which="minor", labelsize=7)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("ImageNet-1k top-1 (%), published with the weights")
    axes.set_title(textwrap.fill(title, 95), fontsize=10)  # a long CPU label must not run off the figure
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    labels = [r["model"] + (f" ({r['resolution']} px)" if r.get("resolution", 224) != 224 else "") for r in rows]
    place_labels(axes, [(r[x_key], r["top1"], label) for r, label in zip(rows, labels, strict=True)])
    return figure


def save_figure(figure, path: str | Path) -> Path:
    plt = pyplot()
    files.write_figure(path, figure, dpi=110)
    plt.close(figure)
    return Path(path)
