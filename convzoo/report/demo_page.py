# SPDX-License-Identifier: MIT
"""The demo's page: the lecture in its own order, each claim with what this machine just measured.

``convzoo demo`` writes ``index.md`` and ``index.html`` (one self-contained file: its plots are embedded) into its
output folder, read from what the run wrote there (the lab's ``results.json`` files, compare's results, ``demo.json``)
and from the cost model (the lecture's numbers, recomputed from real modules by :mod:`.lecture`). Per claim: the
lecture's sentence, the parts' tally and their table (rule, verdict, evidence), the key plot, and how long it ran on
which CPU kind. A claim the demo does not train (compound scaling needs longer than ten minutes) shows the committed
run from the repository, labelled as such, beside what the cost model computes here.

The Markdown is rendered to HTML by markdown-it-py (CommonMark with tables), not by hand.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from markdown_it import MarkdownIt

from .. import files
from ..experiments.verdicts import headline, parts_table
from . import lecture

REPOSITORY_DOCS = Path(__file__).resolve().parents[2] / "docs"  # the committed runs, when run from a clone
# the key plots of each experiment, in the order the page shows them
PLOTS = {
    "filters": ("kernels.png", "first_layer_filters.png"),
    "bottleneck": ("cost.png",),
    "gradients": ("gradient_norms.png", "training_loss.png"),
    "degradation": ("training_error.png", "very_deep_loss.png"),
    "scaling": ("accuracy_vs_macs.png",),
}
COMPARE_PLOTS = ("top1_vs_latency.png", "top1_vs_gmacs.png")
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;line-height:1.5;"
    "color:#222}h1{font-size:1.7em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}"
    "blockquote{margin:1em 0;padding:.4em 1em;background:#f6f8fa;border-left:4px solid #4a7bd0}"
    "table{display:block;overflow-x:auto;border-collapse:collapse;font-size:13px;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f3f3f3}"
    "img{max-width:100%;height:auto}code{background:#f3f3f3;padding:0 .2em;overflow-wrap:anywhere}"
    "p,li,td{overflow-wrap:anywhere}td strong{white-space:nowrap}"  # a verdict is never split: "undecid-ed"
)


def _read(path: Path) -> dict | None:
    if not path.is_file():
        return None
    return json.loads(files.read_input(path, limit=files.READ_LIMIT))


def _ran(record: dict, part: dict | None) -> str:
    """How long an experiment ran, on which CPU kind, in which training setting."""
    cpu = record["provenance"]["environment"]["cpu"]
    budget = f", budget {part['budget_minutes']:g} min" if part and part.get("budget_minutes") else ""
    return f"{record['wall_seconds']:.0f} s on {cpu['model']} ({cpu['label']}), {record['settings']['label']}{budget}"


def _plots(folder: str, name: str, out: Path) -> str:
    shown = [plot for plot in PLOTS.get(name, ()) if (out / folder / plot).is_file()]
    return "".join(f"![{name}: {plot.removesuffix('.png').replace('_', ' ')}]({folder}/{plot})\n\n" for plot in shown)


def claim_block(name: str, out: Path, parts_by_name: dict[str, dict], *, what: str = "") -> str:
    """One experiment of this run: the lecture's sentence, the tally, the parts' table, the plots, the time."""
    folder = f"lab/{name}"
    part = parts_by_name.get(name)
    # only what this run wrote: a skipped part leaves an earlier demo's results in the folder
    record = _read(out / folder / "results.json") if part and not part.get("skipped") else None
    if record is None:
        why = "skipped: too little of the budget was left" if part and part.get("skipped") else "not run"
        return f"*`{name}`: {why}; the committed run is in the repository's docs/experiments/{name}.*\n\n"
    table = parts_table(record["parts"]) if record.get("parts") else f"{record['verdict']}\n"
    return (
        f"> **The lecture{what}:** {record['claim']}\n\n"
        f"**On this machine: {headline(record)}.** Ran {_ran(record, part)}; "
        f"[the experiment's report]({folder}/report.md).\n\n{table}\n{_plots(folder, name, out)}"
    )


def committed_block(name: str, out: Path) -> str:
    """A claim the demo does not train: the repository's committed run, copied beside the page, labelled as such."""
    folder = REPOSITORY_DOCS / "experiments" / name
    record = _read(folder / "results.json")
    if record is None:
        return f"*The committed `{name}` run is in the repository's docs/experiments/{name} (not found from here).*\n\n"
    target = out / "committed" / name
    for plot in PLOTS.get(name, ()):
        if (folder / plot).is_file():
            files.write_bytes(target / plot, files.read_input(folder / plot, limit=files.READ_LIMIT))
    longer = _read(folder / "budget-60" / "results.json")
    longer_line = (
        f" The `--budget 60` run ({longer['wall_seconds'] / 60:.0f} min): {headline(longer)}." if longer else ""
    )
    cpu = record["provenance"]["environment"]["cpu"]
    return (
        f"> **The lecture:** {record['claim']}\n\n"
        f"**The committed run, not this machine's** (`convzoo experiment {name}`, {record['wall_seconds'] / 60:.0f} "
        f"min on {cpu['model']} ({cpu['label']}), commit `{record['provenance']['git_commit']}`): "
        f"{headline(record)}.{longer_line}\n\n{parts_table(record['parts'])}\n" + _plots(f"committed/{name}", name, out)
    )


def compare_block(out: Path, part: dict | None) -> str:
    results = _read(out / "results.json")
    if results is None:
        return "*`convzoo compare` did not finish; its partial report, if any, is in this folder.*\n\n"
    from .render import opening  # the compare report's own first lines

    cpu = (results.get("plan") or {}).get("cpu") or {}
    plots = "".join(f"![{p.removesuffix('.png')}]({p})\n\n" for p in COMPARE_PLOTS if (out / p).is_file())
    budget = f" of its {part['budget_minutes']:g}" if part else ""
    return (
        "\n\n".join(opening(results))
        + f"\n\n{plots}The lecture's 13 architectures, measured here in {results['seconds'] / 60:.1f} min{budget} on "
        f"{cpu.get('model', 'this CPU')} ({cpu.get('label', 'unknown')}): parameters, multiply-adds, activation "
        "memory, batch-1 latency and batch-16 throughput, against the published ImageNet top-1 of their released "
        "weights. The whole table, what each column means and what was cut: [the compare report](report.html) "
        "([Markdown](report.md)).\n\n"
    )


def lecture_markdown(record: dict) -> str:
    """The page in the lecture's order, as Markdown."""
    out_parts = {p["part"]: p for p in record["parts"]}
    sections = {
        s.title: s.markdown
        for s in (
            lecture.one_by_one_reduction(),
            lecture.global_pooling(),
            lecture.vgg16(),
            lecture.googlenet(),
            lecture.resnet(),
            lecture.efficientnet(range(3), ()),
        )
    }
    cpu = record["cpu"]
    out = Path(record["out"])
    return (
        f"# The lecture, executable\n\n`convzoo demo --budget {record['budget_minutes']:g}` on {cpu['model']} "
        f"({cpu['label']}), {record['seconds'] / 60:.1f} min, commit `{record['provenance']['git_commit']}`. Each of "
        "the lecture's claims is split into parts, each decided by a stated rule on numbers measured just now: "
        "**held** or **did not hold** when the evidence is beyond the noise (the seed spread, and the evaluation's "
        "standard error where the arms are scored on the same images); **leans for** / **leans against** when it "
        "points one way but not beyond the noise; **undecided** when it does not point either way, or training did "
        "not reach what the part needs. The rules: `convzoo/experiments/verdicts.py`; every experiment's setup, in "
        "its report.\n\n"
        "## 1. Convolution is a filter that can be learned\n\n"
        + claim_block("filters", out, out_parts)
        + "## 2. VGG and GoogLeNet: 3×3 stacks, 1×1 bottlenecks, global average pooling\n\n"
        + "### VGG-16: 3×3 convolutions only\n\n"
        + sections["VGG-16: 3×3 convolutions only"]
        + "\n\n### The 1×1 bottleneck and global average pooling\n\n"
        + sections["1×1 convolutions as a bottleneck"]
        + "\n\n"
        + sections["Global average pooling instead of fully-connected layers"]
        + "\n\n"
        + sections["GoogLeNet: the inception module"]
        + "\n\nThe same, as parts decided here: the inception module's cost (cost model) and training step time (timed "
        "on this machine), and the head's parameters. Whether the reductions keep the accuracy and whether a large "
        "FC head overfits need training beyond the demo's minutes: `convzoo experiment bottleneck`.\n\n"
        + claim_block("bottleneck", out, out_parts)
        + "## 3. ResNet: vanishing gradients and their remedies, degradation, ~1000 layers\n\n"
        + sections["ResNet: parameters and bottleneck blocks"]
        + "\n\n### Vanishing gradients, and what remedies them\n\n"
        + claim_block("gradients", out, out_parts)
        + "### Degradation: deeper plain nets train worse, residual nets do not\n\n"
        + claim_block("degradation", out, out_parts)
        + "## 4. EfficientNet: compound scaling\n\n"
        + sections["EfficientNet: compound scaling"]
        + "\n\nWhether compound scaling beats scaling one dimension at the same multiply-adds takes trained networks "
        "at four sizes and three seeds, longer than the demo has. This machine computed the scaling above; the "
        "claim, from the committed run:\n\n"
        + committed_block("scaling", out)
        + "## 5. The architectures on this machine\n\n"
        + compare_block(out, out_parts.get("compare"))
        + "## Where the time went\n\n| part | budget (min) | took (s) |\n|---|---|---|\n"
        + "".join(
            f"| {p['part']}{' (' + p['scope'] + ')' if p.get('scope') else ''} | "
            f"{p['budget_minutes'] if p.get('budget_minutes') is not None else '-'} | "
            f"{'skipped' if p.get('skipped') else p['seconds']} |\n"
            for p in record["parts"]
        )
    )


IMAGE = re.compile(r'<img src="([^"]+)" alt="([^"]*)"')


def to_html(markdown: str, out: Path) -> str:
    """The page as one HTML file: CommonMark and tables by markdown-it-py, the plots embedded as data URIs."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)

    def embed(match: re.Match) -> str:
        source, alt = html.unescape(match.group(1)), match.group(2)
        path = out / source
        if "://" in source or not path.is_file():
            return match.group(0)
        data = base64.b64encode(files.read_input(path, limit=files.READ_LIMIT, follow_links=False)).decode()
        return f'<img src="data:image/png;base64,{data}" alt="{alt}"'

    body = IMAGE.sub(embed, body)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>convzoo: the lecture, executable"
        f"</title><link rel='icon' href='data:,'><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def write_demo_page(out: Path, record: dict) -> Path:
    """``index.md`` and ``index.html`` in ``out``; returns the HTML's path."""
    markdown = lecture_markdown({**record, "out": str(out)})
    files.write_text(out / "index.md", markdown)
    files.write_text(out / "index.html", to_html(markdown, out))
    return out / "index.html"


__all__ = ["claim_block", "committed_block", "compare_block", "lecture_markdown", "to_html", "write_demo_page"]
