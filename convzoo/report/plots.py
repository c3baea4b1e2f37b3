"""Plots with matplotlib (headless Agg backend), written as PNG files."""

from __future__ import annotations

from pathlib import Path

import torch


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
