# SPDX-License-Identifier: MIT
"""The demo's page: the lecture in its order, each claim with its parts, plots and time; one file that Chromium
shows whole, offline, at a laptop's width."""

import json
import os

import pytest
from test_report_browser import CHROMIUM, LAPTOP_WIDTH, _results, render_in_chromium

from convzoo import files
from convzoo.plotting import pyplot
from convzoo.report.demo_page import PLOTS, write_demo_page
from convzoo.report.render import write_report

CPU = {"model": "AMD EPYC", "label": "AVX2", "isa": ["avx2"]}


def _png(path, color):
    plt = pyplot()
    figure = plt.figure(figsize=(4, 2))
    plt.plot([0, 1], [0, 1], color=color)
    files.write_figure(path, figure, dpi=60)
    plt.close(figure)


def _experiment(out, name, claim, verdicts, seconds):
    folder = out / "lab" / name
    folder.mkdir(parents=True)
    parts = [
        {"name": f"{name} part {i}", "claim": f"rule {i}", "verdict": v, "evidence": f"numbers {i}", "numbers": {}}
        for i, v in enumerate(verdicts)
    ]
    record = {
        "experiment": name, "claim": claim, "held": None, "verdict": "-", "wall_seconds": seconds, "quick": False,
        "provenance": {"environment": {"cpu": CPU}, "git_commit": "abc1234"}, "settings": {"label": "fp32, NCHW, cpu"},
        **({"parts": parts} if parts else {"held": True, "verdict": "the kernels converged"}),
    }  # fmt: skip
    (folder / "results.json").write_text(json.dumps(record))
    (folder / "report.md").write_text("# report\n")
    for index, plot in enumerate(PLOTS[name]):
        _png(folder / plot, f"C{index}")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_report(_results(), out)  # compare's results and plots, as compare writes them
    _experiment(out, "filters", "A convolution is a filter.", [], 20)
    _experiment(out, "bottleneck", "1×1 reductions cut the cost.", ["held", "held", "held"], 31)
    _experiment(out, "gradients", "The gradient vanishes.", ["held", "leans against", "undecided"], 140)
    _experiment(out, "degradation", "An earlier demo's degradation.", ["held"], 99)  # stale: skipped in this run
    parts = [
        {"part": "filters", "budget_minutes": 0.4, "seconds": 20.0},
        {"part": "bottleneck", "scope": "cost", "budget_minutes": None, "seconds": 31.0},
        {"part": "compare", "budget_minutes": 3.0, "seconds": 170.0},
        {"part": "gradients", "budget_minutes": 2.0, "seconds": 140.0},
        {"part": "degradation", "budget_minutes": 0.3, "skipped": True},
    ]
    record = {
        "budget_minutes": 10, "seconds": 480.0, "parts": parts, "cpu": CPU,
        "provenance": {"git_commit": "abc1234"},
    }  # fmt: skip
    return out, write_demo_page(out, record)


def test_the_page_follows_the_lecture_and_shows_each_claims_parts(page):
    out, html_path = page
    text = (out / "index.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 1. Convolution is a filter that can be learned",
        "## 2. VGG and GoogLeNet: 3×3 stacks, 1×1 bottlenecks, global average pooling",
        "## 3. ResNet: vanishing gradients and their remedies, degradation, ~1000 layers",
        "## 4. EfficientNet: compound scaling",
        "## 5. The architectures on this machine",
        "## Where the time went",
    ]
    # each claim: the lecture's sentence, the tally, the parts' table, how long on which CPU
    assert "> **The lecture:** The gradient vanishes." in text
    assert "**On this machine: 1 of 3 held, 1 undecided, 1 leans against.** Ran 140 s on AMD EPYC (AVX2)" in text
    assert "| gradients part 1 | rule 1 | **leans against** | numbers 1 |" in text
    assert "**On this machine: held.**" in text and "the kernels converged" in text  # filters: one verdict, no parts
    assert "`degradation`: skipped: too little of the budget was left" in text
    assert "An earlier demo's degradation." not in text  # what an earlier run left in the folder is not shown
    # the lecture's numbers from the cost model: 112.9M multiply-adds for the direct 5×5, VGG-16's 138M parameters
    assert "**112.9M**" in text and "**138,357,544** parameters" in text
    # compound scaling is not trained here: the committed run, labelled as not this machine's
    assert "**The committed run, not this machine's**" in text and (out / "committed/scaling").is_dir()
    assert "the frontier of published" in text and "[the compare report](report.html)" in text
    assert "| compare | 3.0 | 170.0 |" in text and "| bottleneck (cost) | - | 31.0 |" in text
    html = html_path.read_text()
    assert "http://" not in html and "https://" not in html and 'src="data:image/png;base64,' in html
    assert html.count("<img") == text.count("![")  # every plot the Markdown names is embedded


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (CI installs it)")
def test_the_page_opens_in_chromium_with_every_image_and_no_sideways_scroll(page, tmp_path):
    _, html_path = page
    attributes, console = render_in_chromium(html_path, screenshot=tmp_path / "shot.png")
    widths = [int(w) for w in attributes["images"].split(",")]
    assert len(widths) >= 8 and min(widths) > 100, attributes  # every image decoded
    assert int(attributes["page-width"]) <= LAPTOP_WIDTH, "the page scrolls sideways at a laptop's width"
    assert console == []
