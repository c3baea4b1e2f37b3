"""Plots with matplotlib (headless Agg backend), written as PNG files."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import files


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(confusion: torch.Tensor, classes: list[str], path: str | Path, title: str) -> Path:
    """Row-normalized confusion matrix (true class down, prediction across), counts in the cells."""
    plt = _pyplot()
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
                axes.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                          color="white" if rates[i, j] > 0.5 else "black")  # fmt: skip
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
    rows: list[dict], x_key: str, y_key: str, path: Path, *, title: str, xlabel: str, ylabel: str,
    size_key: str | None = None, min_y_span: float | None = None,
) -> Path | None:  # fmt: skip
    points = [r for r in rows if r.get(x_key) is not None and r.get(y_key) is not None]
    if not points:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 5.5))
    largest = max((r[size_key] for r in points), default=1) if size_key else 1
    for row in points:
        size = 40 + 1400 * (row[size_key] / largest) ** 0.5 if size_key else 60
        axes.scatter(
            row[x_key], row[y_key], s=size, color=_color(row["family"]), alpha=0.6, edgecolors="black", linewidths=0.5
        )
        axes.annotate(row["model"], (row[x_key], row[y_key]), fontsize=8, xytext=(4, 4), textcoords="offset points")
    axes.set_xscale("log")
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
        "gmacs", "accuracy_pct", Path(path), title=title,
        xlabel="GMACs at 224×224 (log scale)", ylabel="test top-1 (%)", size_key="params", min_y_span=10.0,
    )  # fmt: skip


def plot_latency_vs_gmacs(rows: list[dict], path: str | Path) -> Path | None:
    return _labelled_scatter(
        rows, "gmacs", "latency_b1_ms", Path(path), title="CPU latency (batch 1, eager) vs GMACs",
        xlabel="GMACs at 224×224 (log scale)", ylabel="latency (ms)",
    )  # fmt: skip


def plot_params_by_family(rows: list[dict], path: str | Path) -> Path:
    plt = _pyplot()
    ordered = sorted(rows, key=lambda r: (r["family"], r["params"]))
    figure, axes = plt.subplots(figsize=(8, 0.35 * len(ordered) + 1.5))
    axes.barh(
        [r["model"] for r in ordered],
        [r["params"] / 1e6 for r in ordered],
        color=[_color(r["family"]) for r in ordered],
    )
    for index, row in enumerate(ordered):
        axes.text(row["params"] / 1e6, index, f" {row['params'] / 1e6:.1f}M", va="center", fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("parameters (millions, log scale)")
    axes.set_title("Parameters per model, coloured by family")
    figure.tight_layout()
    files.write_figure(path, figure, dpi=110)
    plt.close(figure)
    return Path(path)
