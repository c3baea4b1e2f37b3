"""The compare report as Markdown (plots beside it as PNG) and as one self-contained HTML file.

The table keeps apart what a short run can show and what it cannot: the cost and speed columns are
measured here and true on this machine; "learns here" is a pass/fail sanity check after a few dozen
steps; "after full training" comes from committed full runs, labelled with their seeds, epochs and
machine. Accuracies are never sorted or ranked unless :func:`full_runs.ranked_pairs` says it holds.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from .. import files
from .full_runs import PUBLISHED, load_runs, ranking_sentence
from .plots import plot_accuracy_vs_gmacs, plot_latency_vs_gmacs, plot_params_by_family

COLUMNS = [
    ("model", "model"),
    ("family", "family"),
    ("params", "params (M)"),
    ("weights_mib", "fp32 MiB"),
    ("gmacs", "GMACs@224"),
    ("activation_mib", "activations MiB@224"),
    ("latency_b1_ms", "latency b1 (ms)"),
    ("throughput_b16", "img/s b16 eager"),
    ("throughput_b16_optimized", "img/s b16 optimized"),
    ("learns", "learns here"),
    ("full_top1", "top-1 after full training"),
    ("published", "published top-1"),
]


def _learns_cell(row: dict) -> str | None:
    if "learns" not in row:
        return None
    verdict = "yes" if row["learns"] else "not yet"
    return (
        f"{verdict} ({100 * row['test_top1']:.0f}% vs 10% chance; loss {row['loss_first']:.2f}→{row['loss_last']:.2f})"
    )


def _cell(key: str, row: dict, full: dict) -> str:
    if key == "learns":
        value = _learns_cell(row)
    elif key == "full_top1":
        value = full[row["model"]].cell() if row["model"] in full else "no full run yet"
    elif key == "published":
        value = f"{PUBLISHED[row['model']]}%" if row["model"] in PUBLISHED else None
    else:
        value = row.get(key)
    if value is None:
        return "—"
    return f"{value / 1e6:.2f}" if key == "params" else str(value)


def _note(row: dict) -> str:
    notes = [f"{phase}: {reason}" for phase, reason in row.get("skipped", {}).items()]
    notes += [f"{phase} failed: {error}" for phase, error in row.get("errors", {}).items()]
    return "; ".join(notes)


def table_rows(results: dict, full_runs: str | Path | None = None) -> list[dict]:
    full = load_runs(full_runs)
    return [{label: _cell(key, row, full) for key, label in COLUMNS} | {"note": _note(row)} for row in results["rows"]]


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


def explanation(results: dict, full_runs: str | Path | None = None) -> list[str]:
    config = results["config"]
    return [
        (
            "**Cost and speed** are measured on this machine for every model: parameters, fp32 weights, multiply-adds "
            "and activation memory at 224×224 (the cost model), batch-1 latency and batch-16 throughput, eager and "
            "optimized (batch norm folded, channels-last, fp32), timed interleaved after a warm-up."
        ),
        (
            f"**Learns here** is a sanity check, not a ranking: each model's small-input variant trains from scratch on "
            f"`{config['data']}` with one recipe (AdamW, one-cycle peaking at {config.get('lr')} with batch norm and "
            f"{config.get('lr_without_batch_norm')} without, gradient norm clipped to {config['grad_clip']}, label "
            f"smoothing 0.1, crop and flip, precise BN over {config['precise_bn']} batches, seed 0), then is tested on "
            "the held-out split. It passes when test top-1 is above chance by more than 3 standard errors and the "
            "training loss fell. After a few dozen steps, accuracy reflects how fast a model starts, not what it can "
            "reach: at this budget the models are not distinguishable by accuracy."
        ),
        "**After full training** comes from full Fashion-MNIST runs recorded in "
        "`benchmarks/results/fashion_mnist_full.json` (`python benchmarks/fashion_mnist_full.py`), with their seeds, "
        "epochs and machine; **published** is Fashion-MNIST's benchmark table. "
        + ranking_sentence(load_runs(full_runs)),
    ]


def plots(results: dict, out: Path, full_runs: str | Path | None = None) -> dict[str, Path]:
    rows = [r for r in results["rows"] if r.get("gmacs") is not None]
    full = load_runs(full_runs)
    accuracy_rows = [r | {"test_top1": full[r["model"]].mean} for r in rows if r["model"] in full]
    made = {
        "latency_vs_gmacs": plot_latency_vs_gmacs(rows, out / "latency_vs_gmacs.png"),
        "params_by_family": plot_params_by_family([r for r in rows if r.get("params")], out / "params_by_family.png")
        if rows
        else None,
        "accuracy_vs_gmacs": plot_accuracy_vs_gmacs(
            accuracy_rows,
            out / "accuracy_vs_gmacs.png",
            "Top-1 after full training vs GMACs (recorded runs; see the table for seeds and epochs)",
        )
        if accuracy_rows
        else None,
    }
    return {name: path for name, path in made.items() if path is not None}


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


def to_markdown(results: dict, images: dict[str, Path], full_runs: str | Path | None = None) -> str:
    rows = table_rows(results, full_runs)
    header = list(rows[0]) if rows else []
    table = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    table += ["| " + " | ".join(row[h].replace("|", "/") for h in header) + " |" for row in rows]
    figures = "\n\n".join(f"![{name}]({path.name})" for name, path in images.items())
    banner = _partial_banner(results)
    parts = ["# convzoo compare", f"**{banner}**" if banner else "", _header(results), " ".join(_plan_lines(results))]
    parts += explanation(results, full_runs) + ["\n".join(table), figures]
    return "\n\n".join(p for p in parts if p) + "\n"


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;line-height:1.45;color:#222}"
    ".scroll{overflow-x:auto;margin:1em 0}table{border-collapse:collapse;font-size:12.5px;width:100%}"
    "td,th{border:1px solid #ccc;padding:4px 6px;text-align:right;vertical-align:top}"
    "th{background:#f3f3f3;position:sticky;top:0}td:first-child,th:first-child,td:nth-child(2),td:nth-last-child(-n+4){text-align:left}"
    "td:last-child{min-width:9em;color:#555}.banner{background:#fff3cd;border:1px solid #e0c060;padding:.6em 1em}"
    "figure{margin:1em 0}img{max-width:100%;height:auto}"
)


def _markdown_inline(text: str) -> str:
    escaped = html.escape(text)
    for mark, tag in (("**", "strong"), ("`", "code")):
        pieces = escaped.split(mark)
        escaped = "".join(p if i % 2 == 0 else f"<{tag}>{p}</{tag}>" for i, p in enumerate(pieces))
    return escaped


def to_html(results: dict, images: dict[str, Path], full_runs: str | Path | None = None) -> str:
    rows = table_rows(results, full_runs)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in (rows[0] if rows else {}))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>" for row in rows)
    figures = "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"></figure>'
        for name, path in images.items()
    )
    banner = _partial_banner(results)
    paragraphs = [_header(results), " ".join(_plan_lines(results)), *explanation(results, full_runs)]
    text = "".join(f"<p>{_markdown_inline(p)}</p>" for p in paragraphs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>convzoo compare</title>"
        f"<link rel='icon' href='data:,'><style>{STYLE}</style></head><body><h1>convzoo compare</h1>"
        + (f"<p class='banner'>{html.escape(banner)}</p>" if banner else "")
        + f"{text}<div class='scroll'><table><tr>{head}</tr>{body}</table></div>{figures}</body></html>\n"
    )


def write_report(results: dict, out: str | Path, full_runs: str | Path | None = None) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images = plots(results, out, full_runs)
    files.write_text(out / "results.json", json.dumps(results, indent=2) + "\n")
    files.write_text(out / "report.md", to_markdown(results, images, full_runs))
    files.write_text(out / "report.html", to_html(results, images, full_runs))
    return {"markdown": out / "report.md", "html": out / "report.html", "json": out / "results.json", **images}
