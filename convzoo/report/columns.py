# SPDX-License-Identifier: MIT
"""The compare report's tables: one row per model, each cell from the measured results.

The main table sets published ImageNet-1k accuracy beside cost and speed measured on this machine;
the Fashion-MNIST table sets accuracy after full training (committed runs) beside the published
benchmark. Cells are text, shared by the Markdown and the HTML report; a value that was not measured
is "—".
"""

from __future__ import annotations

from pathlib import Path

from ..compare.measure import optimized_dtype
from ..compare.plan import LEFT_OUT
from . import imagenet_column
from .frontier import Point, frontier_points, latency_for_published, pareto_frontier
from .full_runs import PUBLISHED, load_runs


def cpu_label(results: dict) -> str:
    """The CPU kind the run was planned for (AMX, AVX-512, AVX2, ...), as the report names the machine."""
    cpu = (results.get("plan") or {}).get("cpu") or results["machine"].get("cpu") or {}
    return cpu.get("label", "unknown")


def optimized_column_dtype(results: dict) -> str:
    """The dtype of the optimized column: what the rows were timed in, else what the plan chose."""
    dtypes = sorted({r["optimized_dtype"] for r in results["rows"] if r.get("optimized_dtype")})
    if dtypes:
        return "/".join(dtypes)
    return optimized_dtype((results.get("plan") or {}).get("amp", "none"))


def columns(results: dict) -> list[tuple[str, str]]:
    measured = any("imagenet" in r or "imagenet_note" in r for r in results["rows"])
    return [
        ("model", "model"),
        ("family", "family"),
        ("published", "ImageNet-1k top-1 % (published)"),
        ("weights", "published weights: source, tag, eval size"),
        *([("imagenet", "ImageNet-1k top-1 % measured here, ± standard error (images)")] if measured else []),
        ("frontier", "on the frontier here"),
        ("params", "params (M)"),
        ("gmacs", "GMACs@224"),
        ("weights_mib", "fp32 MiB"),
        ("activation_mib", "activations MiB@224"),
        ("latency_b1_ms", "latency b1 (ms)"),
        ("throughput_b16", "img/s b16 eager fp32"),
        ("throughput_b16_optimized", f"img/s b16 optimized {optimized_column_dtype(results)}"),
        *([("learns", "learns here¹")] if results["config"].get("learns_check", True) else []),
    ]


def _learns_cell(row: dict) -> str | None:
    """pass / fail, never the accuracy: after a few dozen steps a percentage reads as a ranking it is not."""
    if "learns" in row:
        return "pass" if row["learns"] else "fail"
    if "train" in row.get("errors", {}):
        return "failed (see note)"
    if "train" in row.get("skipped", {}):
        return f"left out: {row['skipped']['train'].removeprefix('left out: ').removeprefix(f'{LEFT_OUT}: ')}"
    return None


def _weights_cell(row: dict) -> str | None:
    published = row.get("published")
    if not published:
        return row.get("published_note")
    px = published["resolution"]
    cell = f"{published['source']} {published['tag']}, {px} px"
    latency = row.get("latency_b1_ms_published_px")
    at_px = [f"{row['gmacs_published_px']} GMACs"] if row.get("gmacs_published_px") is not None else []
    at_px += [f"latency b1 here {latency} ms"] if latency is not None else []
    if px != 224 and at_px:
        cell += f" (at {px} px: {', '.join(at_px)})"
    return cell


def _cell(key: str, row: dict, frontier: set[str]) -> str:
    if key == "learns":
        value = _learns_cell(row)
    elif key == "published":
        value = f"{row['published']['top1']:.1f}" if row.get("published") else None
    elif key == "weights":
        value = _weights_cell(row)
    elif key == "imagenet":
        value = imagenet_column.cell(row)
    elif key == "frontier":
        placed = row.get("published") and latency_for_published(row) is not None
        value = ("yes" if row["model"] in frontier else "no") if placed else None
    else:
        value = row.get(key)
    if value is None:
        return "—"
    return f"{value / 1e6:.2f}" if key == "params" else str(value)


def _note(row: dict) -> str:
    notes = [f"{phase}: {reason}" for phase, reason in row.get("skipped", {}).items() if phase != "train"]
    notes += [f"{phase} failed: {error}" for phase, error in row.get("errors", {}).items()]
    return "; ".join(notes)


def gmacs_for_published(row: dict) -> float | None:
    """Multiply-adds at the input size of the published figure (224 unless the weights say otherwise)."""
    if (row.get("published") or {}).get("resolution", 224) != 224:
        return row.get("gmacs_published_px")
    return row.get("gmacs")


def gmacs_points(rows: list[dict]) -> list[Point]:
    """Published top-1 against GMACs at the published figure's size, for the rows that have both."""
    return [
        Point(r["model"], gmacs_for_published(r), r["published"]["top1"])
        for r in rows
        if r.get("published") and gmacs_for_published(r)
    ]


def table_rows(results: dict, full_runs: str | Path | None = None) -> list[dict]:
    """The main table: published accuracy beside cost and speed measured here (Fashion-MNIST: fmnist_rows)."""
    frontier = {p.model for p in pareto_frontier(frontier_points(results["rows"]))}
    return [
        {label: _cell(key, row, frontier) for key, label in columns(results)} | {"note": _note(row)}
        for row in results["rows"]
    ]


def fmnist_rows(results: dict, full_runs: str | Path | None = None) -> tuple[list[dict], list[str]]:
    """Fashion-MNIST accuracy for the models with a full run or a published figure; the other models' names."""
    full = load_runs(full_runs)
    rows, without = [], []
    for name in (row["model"] for row in results["rows"]):
        if name not in full and name not in PUBLISHED:
            without.append(name)
            continue
        rows.append(
            {
                "model": name,
                "Fashion-MNIST top-1 after full training (measured)": full[name].cell()
                if name in full
                else "no full run yet",
                "Fashion-MNIST top-1 (published benchmark)": f"{PUBLISHED[name]}%" if name in PUBLISHED else "—",
            }
        )
    return rows, without
