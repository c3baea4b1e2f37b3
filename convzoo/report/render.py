"""The compare report as Markdown (plots beside it as PNG) and as one self-contained HTML file.

It opens with the accuracy–latency frontier on this machine: published ImageNet-1k top-1 (marked
"published" wherever it appears: it is read from the weights table, not measured) against latency
measured here. The table keeps apart what a short run can show and what it cannot: the cost and speed
columns are measured here and true on this machine; "learns here" is a pass/fail sanity check after a
few dozen steps, so it shows pass/fail only (the figures behind it go to results.json); Fashion-MNIST
accuracy after full training comes from committed full runs, labelled with their seeds, epochs and
machine, and is never ranked unless :func:`full_runs.ranked_pairs` says it holds.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from .. import files
from . import imagenet_column
from .frontier import Point, frontier_points, frontier_sentence, latency_for_published, pareto_frontier
from .full_runs import PUBLISHED, load_runs, ranking_sentence
from .measure import learns_threshold, optimized_dtype
from .plan import LEFT_OUT
from .plots import (
    plot_accuracy_vs_gmacs,
    plot_latency_vs_gmacs,
    plot_params_by_family,
    published_top1_figure,
    save_figure,
)


def _dtype(results: dict) -> str:
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
        ("throughput_b16_optimized", f"img/s b16 optimized {_dtype(results)}"),
        ("learns", "learns here¹"),
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
        rows.append({
            "model": name,
            "Fashion-MNIST top-1 after full training (measured)": full[name].cell() if name in full else "no full run yet",
            "Fashion-MNIST top-1 (published benchmark)": f"{PUBLISHED[name]}%" if name in PUBLISHED else "—",
        })  # fmt: skip
    return rows, without


def _cpu_label(results: dict) -> str:
    cpu = (results.get("plan") or {}).get("cpu") or results["machine"].get("cpu") or {}
    return cpu.get("label", "unknown")


def opening(results: dict) -> list[str]:
    """The report's first lines: the frontier on this machine, then the models placed by cost alone."""
    rows = results["rows"]
    lines = [frontier_sentence(frontier_points(rows), _cpu_label(results))]
    placed = [r for r in rows if not r.get("published")]
    if placed:
        lines.append(
            "Placed by cost alone (no published ImageNet top-1): "
            + "; ".join(f"{r['model']} ({r.get('published_note', 'no released weights')})" for r in placed)
            + "."
        )
    untimed = [r["model"] for r in rows if r.get("published") and latency_for_published(r) is None]
    if untimed:
        lines.append(f"Not placed on the frontier (no latency measured in this run): {', '.join(untimed)}.")
    measured = imagenet_column.summary(rows)
    return lines + ([measured] if measured else [])


def _plan_lines(results: dict) -> list[str]:
    plan = results.get("plan")
    if not plan:
        return ["No plan was made (stopped while probing the machine)."]
    cpu = plan["cpu"]
    precision = "bf16 autocast (native on this CPU)" if plan["amp"] == "bf16" else "fp32 (this CPU has no native bf16)"
    lines = [
        (
            f"Budget {plan['budget_s'] / 60:.1f} min on {cpu['model']} ({cpu['label']}: {', '.join(cpu['isa'])}); "
            f"probing took {plan['probe_s']:.0f} s and the plan was estimated at {plan['estimate_s'] / 60:.1f} min."
        ),
        f"Training for the learns-check: {plan['steps']} steps of batch {plan['batch_size']} per model, {precision}.",
    ]
    cuts = plan.get("cuts") or []
    lines.append("Cut to fit the budget: " + "; ".join(cuts) + "." if cuts else "Nothing was cut to fit the budget.")
    return lines


def learns_criterion(results: dict) -> str:
    """The pass rule in words, with its threshold where the run recorded the test size (one for all models)."""
    tested = next((r for r in results["rows"] if r.get("test_count") and r.get("classes")), None)
    rule = "test top-1 above chance by more than 3 standard errors, and the training loss fell over the run"
    if tested is None:
        return rule
    threshold = learns_threshold(tested["test_count"], tested["classes"])
    return (
        f"{rule} (with {tested['test_count']} test images and {tested['classes']} classes: chance "
        f"{100 / tested['classes']:.0f}%, pass above {100 * threshold:.2f}%)"
    )


def _imagenet_paragraph(config: dict) -> str:
    return (
        "**ImageNet-1k top-1 measured here** is the published column's own weights (same source and tag, with their "
        f"own evaluation transform) on a class-balanced subset of the validation set at `{config['imagenet']}` "
        f"({config.get('imagenet_limit') or 'all'} images per model); ± is the binomial standard error of that "
        "subset. It is measured, the published column is not: the frontier uses the published figure, which every "
        "model with released weights has."
    )


def explanation(results: dict, full_runs: str | Path | None = None) -> list[str]:
    config = results["config"]
    dtype = _dtype(results)
    why = "native bf16 on this CPU" if dtype == "bf16" else "no native bf16 on this CPU"
    measured = [_imagenet_paragraph(config)] if config.get("imagenet") else []
    return measured + [
        (
            "**ImageNet-1k top-1 (published)** is the figure published with each model's released weights "
            "(torchvision's weight metadata, timm's results table), read from convzoo's weights table, not measured "
            "here. Of a model's weights, the best published at 224 px is shown (the size the speed columns are timed "
            "at); a model whose weights are evaluated at another size is also timed at that size, and the frontier "
            "uses that latency. The frontier compares published accuracy with latency measured on this machine."
        ),
        (
            "**Cost and speed** are measured on this machine for every model: parameters, fp32 weights, multiply-adds "
            "and activation memory at 224×224 (the cost model), batch-1 latency (eager fp32) and batch-16 throughput, "
            f"eager fp32 and optimized (batch norm folded, channels-last, {dtype}: {why}), timed interleaved after a "
            "warm-up."
        ),
        (
            f"¹ **Learns here** is a sanity check, not a ranking: each model's small-input variant trains from scratch "
            f"on `{config['data']}` with one recipe (AdamW, one-cycle peaking at {config.get('lr')} with batch norm and "
            f"{config.get('lr_without_batch_norm')} without, gradient norm clipped to {config['grad_clip']}, label "
            f"smoothing 0.1, crop and flip, precise BN over {config['precise_bn']} batches, seed 0), then is tested on "
            f"the held-out split. It passes when {learns_criterion(results)}. After a few dozen steps, accuracy "
            "reflects how fast a model starts, not what it can reach: at this budget the models are not "
            "distinguishable by accuracy, so the table shows pass/fail only; each model's test top-1 and first and "
            "last losses are in `results.json` (`test_top1`, `loss_first`, `loss_last`)."
        ),
    ]


def fmnist_paragraph(results: dict, full_runs: str | Path | None = None) -> str:
    _, without = fmnist_rows(results, full_runs)
    text = (
        "**Fashion-MNIST after full training** comes from full runs recorded in "
        "`benchmarks/results/fashion_mnist_full.json` (`python benchmarks/fashion_mnist_full.py`), with their seeds, "
        "epochs and machine; **published benchmark** is Fashion-MNIST's benchmark table. "
        + ranking_sentence(load_runs(full_runs))
    )
    return text + (f" No full run yet: {', '.join(without)}." if without else "")


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
        {"model": p.model, "family": by_model[p.model]["family"], "top1": p.top1, x_key: p.latency_ms,
         "resolution": by_model[p.model]["published"]["resolution"]}
        for p in points
    ]  # fmt: skip


def top1_vs_latency_figure(results: dict):
    """The first plot, not yet saved (tests read its labels): published top-1 against latency measured here."""
    points = frontier_points(results["rows"])
    if not points:
        return None
    frontier = [p.model for p in pareto_frontier(points)]
    return published_top1_figure(
        _figure_rows(results, points, "latency_ms"), "latency_ms", frontier,
        title=f"Published ImageNet-1k top-1 vs batch-1 latency measured on this machine ({_cpu_label(results)})",
        xlabel="batch-1 latency here, eager fp32, at the published figure's input size (ms, log scale)",
        frontier_label="Pareto frontier on this machine",
    )  # fmt: skip


def top1_vs_gmacs_figure(results: dict):
    points = gmacs_points(results["rows"])
    if not points:
        return None
    frontier = [p.model for p in pareto_frontier(points)]
    return published_top1_figure(
        _figure_rows(results, points, "gmacs"), "gmacs", frontier,
        title="Published ImageNet-1k top-1 vs GMACs (the cost model)",
        xlabel="GMACs at the published figure's input size (log scale)", frontier_label="Pareto frontier in GMACs",
    )  # fmt: skip


def plot_top1_vs_latency(results: dict, path: Path) -> Path | None:
    figure = top1_vs_latency_figure(results)
    return save_figure(figure, path) if figure is not None else None


def plot_top1_vs_gmacs(results: dict, path: Path) -> Path | None:
    figure = top1_vs_gmacs_figure(results)
    return save_figure(figure, path) if figure is not None else None


def _header(results: dict) -> str:
    machine = results["machine"]
    return (
        f"Measured on {machine['platform']} ({machine['cpu_count']} cores, {machine['threads']} threads), "
        f"torch {results['torch']}, git {results['git_commit']}, {results['date']}; the whole comparison took "
        f"{results['seconds'] / 60:.1f} minutes."
    )


def _partial_banner(results: dict) -> str | None:
    if not results.get("partial"):
        return None
    return f"PARTIAL REPORT: {results['partial']}. Rows without figures were not reached; `convzoo compare --resume` finishes it."


def _markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row[h].replace("|", "/") for h in header) + " |" for row in rows])


def to_markdown(results: dict, images: dict[str, Path], full_runs: str | Path | None = None) -> str:
    first, *rest = list(images.items()) or [(None, None)]
    banner = _partial_banner(results)
    parts = ["# convzoo compare", f"**{banner}**" if banner else "", *opening(results)]
    parts += [f"![{first[0]}]({first[1].name})" if first[0] else ""]
    parts += [_header(results), " ".join(_plan_lines(results)), _markdown_table(table_rows(results, full_runs))]
    parts += explanation(results, full_runs) + [fmnist_paragraph(results, full_runs)]
    parts += [_markdown_table(fmnist_rows(results, full_runs)[0])]
    parts += ["\n\n".join(f"![{name}]({path.name})" for name, path in rest)]
    return "\n\n".join(p for p in parts if p) + "\n"


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;line-height:1.45;color:#222}"
    ".scroll{overflow-x:auto;margin:1em 0}table{border-collapse:collapse;font-size:12.5px;width:100%}"
    "td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}td.n{text-align:right}"
    "th{background:#f3f3f3;position:sticky;top:0}td:last-child{min-width:9em;color:#555}"
    ".banner{background:#fff3cd;border:1px solid #e0c060;padding:.6em 1em}"
    ".lead{font-size:1.1em}figure{margin:1em 0}img{max-width:100%;height:auto}"
)
NUMBER = re.compile(r"^[0-9.,]+$")


def _markdown_inline(text: str) -> str:
    escaped = html.escape(text)
    for mark, tag in (("**", "strong"), ("`", "code")):
        pieces = escaped.split(mark)
        escaped = "".join(p if i % 2 == 0 else f"<{tag}>{p}</{tag}>" for i, p in enumerate(pieces))
    return escaped


def _html_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in rows[0])
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if NUMBER.match(v) else ''}>{html.escape(v)}</td>" for v in row.values())
        + "</tr>"
        for row in rows
    )
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def _html_figure(name: str, path: Path) -> str:
    return f'<figure><img alt="{name}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"></figure>'


def to_html(results: dict, images: dict[str, Path], full_runs: str | Path | None = None) -> str:
    first, *rest = list(images.items()) or [(None, None)]
    banner = _partial_banner(results)
    lead = "".join(f"<p class='lead'>{_markdown_inline(p)}</p>" for p in opening(results))
    paragraphs = [_header(results), " ".join(_plan_lines(results))]
    notes = [*explanation(results, full_runs), fmnist_paragraph(results, full_runs)]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>convzoo compare</title>"
        f"<link rel='icon' href='data:,'><style>{STYLE}</style></head><body><h1>convzoo compare</h1>"
        + (f"<p class='banner'>{html.escape(banner)}</p>" if banner else "")
        + lead
        + (_html_figure(*first) if first[0] else "")
        + "".join(f"<p>{_markdown_inline(p)}</p>" for p in paragraphs)
        + _html_table(table_rows(results, full_runs))
        + "".join(f"<p>{_markdown_inline(p)}</p>" for p in notes)
        + _html_table(fmnist_rows(results, full_runs)[0])
        + "".join(_html_figure(name, path) for name, path in rest)
        + "</body></html>\n"
    )


def with_frontier(results: dict) -> dict:
    """``results`` plus what the report computed from it: the frontiers, their sentence, the learns rule."""
    points = frontier_points(results["rows"])
    return results | {
        "frontier": {
            "latency": [p.model for p in pareto_frontier(points)],
            "gmacs": [p.model for p in pareto_frontier(gmacs_points(results["rows"]))],
            "sentence": frontier_sentence(points, _cpu_label(results)),
            "note": "top-1 is published with the weights (not measured here); latency is measured here",
        },
        "learns_check": {"criterion": learns_criterion(results), "figures": ["test_top1", "loss_first", "loss_last"]},
    }


def write_report(results: dict, out: str | Path, full_runs: str | Path | None = None) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = with_frontier(results)
    images = plots(results, out, full_runs)
    files.write_text(out / "results.json", json.dumps(results, indent=2) + "\n")
    files.write_text(out / "report.md", to_markdown(results, images, full_runs))
    files.write_text(out / "report.html", to_html(results, images, full_runs))
    return {"markdown": out / "report.md", "html": out / "report.html", "json": out / "results.json", **images}
