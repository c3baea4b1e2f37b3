"""The compare report as Markdown (plots beside it as PNG) and as one self-contained HTML file."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from .plots import plot_accuracy_vs_gmacs, plot_latency_vs_gmacs, plot_params_by_family

COLUMNS = [
    ("model", "model"),
    ("family", "family"),
    ("params", "params (M)"),
    ("weights_mib", "fp32 MiB"),
    ("gmacs", "GMACs@224"),
    ("latency_b1_ms", "latency b1 (ms)"),
    ("throughput_b16", "img/s b16 eager"),
    ("throughput_b16_optimized", "img/s b16 optimized"),
    ("test_top1", "test top-1"),
    ("train_seconds", "train time (s)"),
]


def _cell(key: str, row: dict) -> str:
    value = row.get(key)
    if value is None:
        return "—"
    if key == "params":
        return f"{value / 1e6:.2f}"
    if key == "test_top1":
        return f"{100 * value:.1f}%"
    return str(value)


def table_rows(results: dict) -> list[dict]:
    rows = []
    for row in results["rows"]:
        cells = {label: _cell(key, row) for key, label in COLUMNS}
        cells["note"] = row.get("error", "")
        rows.append(cells)
    return rows


def recipe(results: dict) -> str:
    config = results["config"]
    return (
        f"Every model is trained from scratch for {config['epochs']} epoch(s) on `{config['data']}` with the same "
        f"recipe: its small-input variant for 28×28 images, batch {config['batch_size']}, SGD with Nesterov momentum, "
        f"one-cycle learning rate peaking at {config['lr']}, gradient norm clipped to {config['grad_clip']}, "
        "label smoothing 0.1, random crop and flip, bf16 autocast where the CPU "
        f"supports it, seed {config['seed']}. Before testing, batch-norm statistics are recomputed over "
        f"{config['precise_bn']} training batches (\"precise BN\": after so short a training the running averages lag "
        "far behind). Test top-1 is measured on the dataset's test split. Latency and throughput "
        f"are measured at 224×224 on the CPU (median of {config['repeats']} after a warm-up; optimized = batch norm "
        "folded and channels-last, fp32)."
    )


def plots(results: dict, out: Path) -> dict[str, Path]:
    rows = [r for r in results["rows"] if "error" not in r]
    made = {
        "accuracy_vs_gmacs": plot_accuracy_vs_gmacs(rows, out / "accuracy_vs_gmacs.png"),
        "latency_vs_gmacs": plot_latency_vs_gmacs(rows, out / "latency_vs_gmacs.png"),
        "params_by_family": plot_params_by_family([r for r in results["rows"] if r.get("params")], out / "params_by_family.png"),
    }
    return {name: path for name, path in made.items() if path is not None}


def _header(results: dict) -> str:
    machine = results["machine"]
    return (
        f"Measured on {machine['platform']} ({machine['cpu_count']} cores, {machine['threads']} threads), "
        f"torch {results['torch']}, git {results['git_commit']}, {results['date']}; the whole comparison took "
        f"{results['seconds'] / 60:.1f} minutes."
    )


def to_markdown(results: dict, images: dict[str, Path]) -> str:
    rows = table_rows(results)
    header = list(rows[0]) if rows else []
    table = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    table += ["| " + " | ".join(row[h] for h in header) + " |" for row in rows]
    figures = "\n\n".join(f"![{name}]({path.name})" for name, path in images.items())
    return f"# convzoo compare\n\n{_header(results)}\n\n{recipe(results)}\n\n" + "\n".join(table) + f"\n\n{figures}\n"


def to_html(results: dict, images: dict[str, Path]) -> str:
    rows = table_rows(results)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in (rows[0] if rows else {}))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>" for row in rows)
    figures = "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"></figure>'
        for name, path in images.items()
    )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child,td:nth-child(2){text-align:left}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>convzoo compare</title><style>{style}</style></head>"
        f"<body><h1>convzoo compare</h1><p>{html.escape(_header(results))}</p><p>{html.escape(recipe(results))}</p>"
        f"<table><tr>{head}</tr>{body}</table>{figures}</body></html>\n"
    )


def write_report(results: dict, out: str | Path) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images = plots(results, out)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "report.md").write_text(to_markdown(results, images))
    (out / "report.html").write_text(to_html(results, images))
    return {"markdown": out / "report.md", "html": out / "report.html", "json": out / "results.json", **images}
