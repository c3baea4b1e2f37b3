# SPDX-License-Identifier: MIT
"""The compare report as people see it: headless Chromium loads report.html, offline, at a laptop's width."""

import os
import re
import shutil
import subprocess

import pytest

from convzoo.report.render import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAPTOP_WIDTH = 1366
# After the load event, write what rendered into the DOM, where --dump-dom can read it.
PROBE = (
    "<script>addEventListener('load',()=>{const b=document.body.dataset;"
    "b.images=[...document.images].map(i=>i.complete?i.naturalWidth:0).join(',');"
    "b.pageWidth=document.documentElement.scrollWidth;b.tables=document.querySelectorAll('table tr').length})</script>"
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (CI installs it)"
)


def _results():
    rows = []
    for index, (name, family) in enumerate([("resnet18", "resnet"), ("mobilenet_v2", "mobilenet"), ("vgg16", "vgg")]):
        row = {
            "model": name,
            "family": family,
            "year": 2015,
            "skipped": {},
            "params": (index + 1) * 5_000_000,
            "weights_mib": 20.0,
            "gmacs": 0.3 * (index + 1),
            "activation_mib": 30.0,
            "latency_b1_ms": 10.0 * (index + 1),
            "throughput_b16": 100.0,
            "throughput_b16_optimized": 150.0,
            "learns": True,
            "test_top1": 0.4,
            "loss_first": 2.3,
            "loss_last": 1.5,
            "published": {"top1": 70.0 + index, "source": "torchvision", "tag": f"{name}.V1", "resolution": 224},
        }
        rows.append(row)
    rows[2]["skipped"] = {"train": "left out: would take ~300 s, 20 s of the budget left"}
    del rows[2]["learns"]
    plan = {
        "budget_s": 480,
        "probe_s": 20,
        "estimate_s": 400,
        "amp": "none",
        "steps": 40,
        "batch_size": 64,
        "cpu": {"model": "AMD EPYC", "label": "AVX2", "isa": ["avx2", "fma"]},
        "cuts": ["vgg16: learns-check left out"],
    }
    machine = {"platform": "Linux", "cpu_count": 2, "threads": 2}
    config = {"data": "fashion-mnist-mini", "lr": 0.05, "grad_clip": 2.0, "precise_bn": 8}
    return {
        "config": config,
        "plan": plan,
        "rows": rows,
        "seconds": 450,
        "partial": None,
        "machine": machine,
        "git_commit": "abc1234",
        "date": "2026-11-29",
        "torch": "2.14",
    }


def render_in_chromium(html_path, screenshot=None, width=LAPTOP_WIDTH):
    """Load ``html_path`` with the probe; returns (data attributes, console lines)."""
    probed = html_path.with_name("probed-" + html_path.name)
    probed.write_text(html_path.read_text().replace("</body>", PROBE + "</body>"))
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--window-size={width},900",
        "--virtual-time-budget=5000",
        "--enable-logging=stderr",
        "--v=0",
    ]
    completed = subprocess.run(
        flags + ["--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120, check=False
    )
    attributes = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', completed.stdout))
    console = [line for line in completed.stderr.splitlines() if "CONSOLE" in line]
    if screenshot is not None:
        subprocess.run(
            flags + [f"--screenshot={screenshot}", html_path.as_uri()], capture_output=True, timeout=120, check=True
        )
    return attributes, console


def test_report_html_renders_plots_and_tables_offline_at_laptop_width(tmp_path):
    full_runs = tmp_path / "full.json"  # one recorded full run: the accuracy plot appears, from this file only
    full_runs.write_text(
        '{"runs": [{"model": "resnet18", "seed": 0, "epochs": 2, "device": "cpu (AVX2)", "test_top1": 0.91}]}'
    )
    paths = write_report(_results(), tmp_path, full_runs)
    html = paths["html"].read_text()
    assert "http://" not in html and "https://" not in html  # nothing to fetch: self-contained
    attributes, console = render_in_chromium(paths["html"], screenshot=tmp_path / "shot.png")
    widths = [int(w) for w in attributes["images"].split(",")]
    # published top-1 vs latency and vs GMACs, latency, params and Fashion-MNIST accuracy plots decoded
    assert len(widths) == 5 and min(widths) > 300, attributes
    assert "91.0% (1 seed, 2 ep, cpu (AVX2))" in html and "No full run yet: mobilenet_v2" in html
    assert html.index("the frontier of published") < html.index("<img")  # the frontier opens the report
    # the main table (header, three models) and Fashion-MNIST's (header, resnet18 run and vgg16 published)
    assert int(attributes["tables"]) == 4 + 3
    assert int(attributes["page-width"]) <= LAPTOP_WIDTH, "the page scrolls sideways at a laptop's width"
    assert console == []
    assert (tmp_path / "shot.png").stat().st_size > 20_000
