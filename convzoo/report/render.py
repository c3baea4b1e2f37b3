# SPDX-License-Identifier: MIT
"""The compare report as Markdown (plots beside it as PNG) and as one self-contained HTML file.

It opens with the accuracy–latency frontier on this machine: published ImageNet-1k top-1 (marked
"published" wherever it appears: it is read from the weights table, not measured) against latency
measured here. The table keeps apart what a short run can show and what it cannot: the cost and speed
columns are measured here and true on this machine; "learns here" is a pass/fail sanity check after a
few dozen steps, so it shows pass/fail only (the figures behind it go to results.json); Fashion-MNIST
accuracy after full training comes from committed full runs, labelled with their seeds, epochs and
machine, and is never ranked unless :func:`full_runs.ranked_pairs` says it holds.

This module writes the prose and puts the report together; the tables' cells are
:mod:`convzoo.report.columns`'s and the figures :mod:`convzoo.report.figures`'s.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from .. import files
from ..compare.measure import learns_threshold
from ..formats import to_json
from . import imagenet_column
from .columns import cpu_label, fmnist_rows, gmacs_points, optimized_column_dtype, table_rows
from .figures import plots
from .frontier import frontier_points, frontier_sentence, latency_for_published, pareto_frontier
from .full_runs import load_runs, ranking_sentence


def opening(results: dict) -> list[str]:
    """The report's first lines: the frontier on this machine, then the models placed by cost alone."""
    rows = results["rows"]
    lines = [frontier_sentence(frontier_points(rows), cpu_label(results))]
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
        (
            f"Training for the learns-check: {plan['steps']} steps of batch {plan['batch_size']} per model, "
            f"{precision}."
            if plan.get("learns_check", True)
            else "No learns-check in this run (cost and speed only: `--no-learns-check`)."
        ),
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
    dtype = optimized_column_dtype(results)
    why = "native bf16 on this CPU" if dtype == "bf16" else "no native bf16 on this CPU"
    measured = [_imagenet_paragraph(config)] if config.get("imagenet") else []
    learns = [_learns_paragraph(results)] if config.get("learns_check", True) else []
    published = (
        "**ImageNet-1k top-1 (published)** is the figure published with each model's released weights "
        "(torchvision's weight metadata, timm's results table), read from convzoo's weights table, not measured "
        "here. Of a model's weights, the best published at 224 px is shown (the size the speed columns are timed "
        "at); a model whose weights are evaluated at another size is also timed at that size, and the frontier "
        "uses that latency. The frontier compares published accuracy with latency measured on this machine."
    )
    speed = (
        "**Cost and speed** are measured on this machine for every model: parameters, fp32 weights, multiply-adds "
        "and activation memory at 224×224 (the cost model), batch-1 latency (eager fp32) and batch-16 throughput, "
        f"eager fp32 and optimized (batch norm folded, channels-last, {dtype}: {why}), timed interleaved after a "
        "warm-up."
    )
    return [*measured, published, speed, *learns]


def _learns_paragraph(results: dict) -> str:
    config = results["config"]
    return (
        f"¹ **Learns here** is a sanity check, not a ranking: each model's small-input variant trains from scratch "
        f"on `{config['data']}` with one recipe (AdamW, one-cycle peaking at {config.get('lr')} with batch norm "
        f"and {config.get('lr_without_batch_norm')} without, gradient norm clipped to {config['grad_clip']}, label "
        f"smoothing 0.1, crop and flip, precise BN over {config['precise_bn']} batches, seed 0), then is tested on "
        f"the held-out split. It passes when {learns_criterion(results)}. After a few dozen steps, accuracy "
        "reflects how fast a model starts, not what it can reach: at this budget the models are not "
        "distinguishable by accuracy, so the table shows pass/fail only; each model's test top-1 and first and "
        "last losses are in `results.json` (`test_top1`, `loss_first`, `loss_last`)."
    )


def fmnist_paragraph(results: dict, full_runs: str | Path | None = None) -> str:
    _, without = fmnist_rows(results, full_runs)
    text = (
        "**Fashion-MNIST after full training** comes from full runs recorded in "
        "`benchmarks/results/fashion_mnist_full.json` (`python benchmarks/fashion_mnist_full.py`), with their seeds, "
        "epochs and machine; **published benchmark** is Fashion-MNIST's benchmark table. "
        + ranking_sentence(load_runs(full_runs))
    )
    return text + (f" No full run yet: {', '.join(without)}." if without else "")


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
    return (
        f"PARTIAL REPORT: {results['partial']}. Rows without figures were not reached; "
        "`convzoo compare --resume` finishes it."
    )


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
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;"
    "padding:0 1em;line-height:1.45;color:#222}"
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
    encoded = base64.b64encode(files.read_input(path, limit=files.READ_LIMIT, follow_links=False)).decode()
    return f'<figure><img alt="{name}" src="data:image/png;base64,{encoded}"></figure>'


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
            "sentence": frontier_sentence(points, cpu_label(results)),
            "note": "top-1 is published with the weights (not measured here); latency is measured here",
        },
        "learns_check": (
            {"criterion": learns_criterion(results), "figures": ["test_top1", "loss_first", "loss_last"]}
            if results["config"].get("learns_check", True)
            else None
        ),
    }


def write_report(results: dict, out: str | Path, full_runs: str | Path | None = None) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = with_frontier(results)
    images = plots(results, out, full_runs)
    files.write_text(out / "results.json", to_json(results, indent=2) + "\n")
    files.write_text(out / "report.md", to_markdown(results, images, full_runs))
    files.write_text(out / "report.html", to_html(results, images, full_runs))
    return {"markdown": out / "report.md", "html": out / "report.html", "json": out / "results.json", **images}
