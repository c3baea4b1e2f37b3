# SPDX-License-Identifier: MIT
"""The lab's generated blocks in docs/lab.md: how each part moved with a longer budget, and bf16 against fp32.

A longer run is committed beside the default one, in ``docs/experiments/NAME/budget-MINUTES/`` (made by
``convzoo experiment NAME --budget MINUTES --out docs/experiments/NAME/budget-MINUTES``); the precision check
is ``benchmarks/results/lab_precision-NAME.json`` (``benchmarks/lab_precision.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from convzoo.experiments import NAMES
from convzoo.formats import markdown

from .records import LAB_RUNS, RESULTS


def longer_runs(root: Path, name: str) -> list[Path]:
    """The folders of ``name``'s committed longer runs, shortest budget first."""
    folder = root / LAB_RUNS / name
    runs = [path for path in folder.glob("budget-*") if (path / "results.json").exists()]
    return sorted(runs, key=lambda path: float(path.name.removeprefix("budget-")))


def read_run(folder: Path) -> dict:
    """The ``results.json`` of the lab run in ``folder``."""
    return json.loads((folder / "results.json").read_text())


def threads_label(record: dict) -> str:
    """``", 2 threads"`` (or ``", 1 thread"``) for a lab run's record; empty when it did not record them."""
    threads = record["provenance"]["environment"].get("threads")
    return f", {threads} thread{'s' if threads != 1 else ''}" if threads else ""


def _run_label(record: dict) -> str:
    results = record["results"]
    epochs = results.get("epochs")
    trained = f", {results['recipe']['steps']} steps = {epochs:.1f} epochs" if epochs is not None else ""
    on = record["provenance"]["environment"]["cpu"]["label"] + threads_label(record)
    return f"budget {record['budget_minutes']:g} min ({record['wall_seconds'] / 60:.1f} min wall{trained}; {on})"


def budget_moves(root: Path) -> str:
    """Per experiment with a longer committed run: each part's verdict and evidence at each budget."""
    sections = []
    for name in NAMES:
        longer = longer_runs(root, name)
        if not longer:
            continue
        records = [read_run(root / LAB_RUNS / name), *(read_run(folder) for folder in longer)]
        links = [f"experiments/{name}/report.md"] + [f"experiments/{name}/{f.name}/report.md" for f in longer]
        header = ["part"] + [f"[{_run_label(r)}]({link})" for r, link in zip(records, links, strict=True)]
        parts = [part["name"] for part in records[0].get("parts", [])]
        rows = []
        for part in parts:
            cells = []
            for record in records:
                found = {p["name"]: p for p in record.get("parts", [])}.get(part)
                cells.append(f"**{found['verdict']}**: {found['evidence']}" if found else "not measured")
            rows.append((part, *cells))
        sections.append(f"`{name}`\n\n" + markdown(header, rows))
    return "\n\n".join(sections) if sections else "No longer run is committed yet."


def precision_check(root: Path) -> str:
    """The bf16 against fp32 runs of ``benchmarks/lab_precision.py``: verdicts side by side."""
    sections = []
    for path in sorted((root / RESULTS).glob("lab_precision-*.json")):
        record = json.loads(path.read_text())
        fp32, bf16 = record["fp32"], record["bf16"]
        rows = [
            (
                part,
                fp32["parts"][part]["verdict"],
                bf16["parts"][part]["verdict"],
                "same" if same else "**different**",
            )
            for part, same in record["verdicts_agree"].items()
        ]
        cpu = record["cpu"]
        sections.append(
            f"`{record['experiment']}`, {record['budget_minutes']:g} min each, {cpu['label']} ({cpu['model']}), "
            f"commit `{record['git_commit']}`: fp32 trained {fp32['steps']} steps ({fp32['settings']['label']}), "
            f"bf16 {bf16['steps']} ({bf16['settings']['label']}); {sum(record['verdicts_agree'].values())} of "
            f"{len(rows)} verdicts agree.\n\n" + markdown(["part", "fp32", "bf16", ""], rows)
        )
    return "\n\n".join(sections) if sections else "Not measured yet: `python benchmarks/lab_precision.py NAME`."


__all__ = ["budget_moves", "longer_runs", "precision_check", "read_run", "threads_label"]
