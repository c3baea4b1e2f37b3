# SPDX-License-Identifier: MIT
"""Accuracy after real training: the committed full Fashion-MNIST runs, and what they can tell apart.

``benchmarks/fashion_mnist_full.py`` trains line-up models on all 60,000 training images with a recipe
per family and appends each run (model, seed, epochs, device, CPU kind, commit, command, test top-1) to
``benchmarks/results/fashion_mnist_full.json``. The compare report reads that file: a model without a
run says "no full run yet".

Two models are ranked only when the ranking is measured to hold: each has at least two seeds, and
every seed of one beats every seed of the other. With one seed, a difference smaller than the
seed-to-seed spread cannot be told from noise, so the report says so instead of ranking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..files import READ_LIMIT, read_input

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "fashion_mnist_full.json"

# Fashion-MNIST's benchmark table (github.com/zalandoresearch/fashion-mnist, "Benchmark"), test accuracy %,
# as facts to set beside ours; WRN-28-10 with random erasing reaches 96.3 (not in the line-up).
PUBLISHED = {"vgg16": 93.5, "googlenet": 93.7, "resnet18": 94.9, "mobilenet_v1": 95.0}


@dataclass(frozen=True)
class ModelRuns:
    model: str
    top1: tuple[float, ...]  # final test top-1 of each seed, 0-1
    epochs: int
    device: str  # "cpu (AMX)", "cuda (NVIDIA H100)", ...

    @property
    def mean(self) -> float:
        return sum(self.top1) / len(self.top1)

    def cell(self) -> str:
        if len(self.top1) == 1:
            return f"{100 * self.top1[0]:.1f}% (1 seed, {self.epochs} ep, {self.device})"
        low, high = min(self.top1), max(self.top1)
        return (
            f"{100 * self.mean:.1f}% ({len(self.top1)} seeds {100 * low:.1f}–{100 * high:.1f}, "
            f"{self.epochs} ep, {self.device})"
        )


def load_runs(path: str | Path | None = None) -> dict[str, ModelRuns]:
    path = Path(path) if path is not None else DEFAULT_PATH
    if not path.is_file():
        return {}
    runs: dict[str, list[dict]] = {}
    for run in json.loads(read_input(path, limit=READ_LIMIT)).get("runs", []):
        runs.setdefault(run["model"], []).append(run)
    return {
        model: ModelRuns(model, tuple(r["test_top1"] for r in items), items[0]["epochs"], items[0]["device"])
        for model, items in runs.items()
    }


def ranked_pairs(runs: dict[str, ModelRuns]) -> list[tuple[str, str]]:
    """``(better, worse)`` pairs where both have ≥ 2 seeds and every seed of one beats every seed of the other."""
    pairs = []
    for a in runs.values():
        for b in runs.values():
            if a.model != b.model and len(a.top1) >= 2 and len(b.top1) >= 2 and min(a.top1) > max(b.top1):
                pairs.append((a.model, b.model))
    return sorted(pairs)


def ranking_sentence(runs: dict[str, ModelRuns]) -> str:
    if not runs:
        return "No full-training run is recorded yet, so the report ranks no model by accuracy."
    pairs = ranked_pairs(runs)
    single = sorted(m for m, r in runs.items() if len(r.top1) < 2)
    parts = []
    if pairs:
        parts.append("Measured to hold across seeds: " + "; ".join(f"{a} > {b}" for a, b in pairs) + ".")
    else:
        parts.append("No two models are separated across seeds, so none is ranked above another.")
    if single:
        parts.append(f"{', '.join(single)}: one seed each, so differences between them are not established.")
    return " ".join(parts)
