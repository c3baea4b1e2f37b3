# SPDX-License-Identifier: MIT
"""The generated parts of README.md and docs/ equal what the code and the JSON results write now."""

import json
import shutil

import pytest

from tools.docs import inference_figures
from tools.docs.generated_docs import BLOCKS, ROOT, regenerate, stale_pages


@pytest.mark.slow  # renders every generated block of every page (over a minute on AVX2): the slow tier
def test_every_generated_page_is_current():
    stale = stale_pages()
    assert not stale, f"stale: {stale}; run make docs and commit the pages"


@pytest.fixture()
def copied_results(tmp_path):
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "benchmarks" / "results")
    return tmp_path


def test_a_figure_that_changes_in_its_json_makes_the_page_stale(copied_results):
    block = next(b for b in BLOCKS if b.name == "time-to-accuracy")
    page = (ROOT / block.page).read_text()
    assert regenerate(page, block, copied_results) == page
    path = copied_results / "benchmarks" / "results" / "time_to_accuracy-15min.json"
    run = json.loads(path.read_text())
    run["final_top1"] += 0.0001  # 0.01 of a point
    path.write_text(json.dumps(run))
    changed = regenerate(page, block, copied_results)
    assert changed != page and f"**{run['final_top1']:.2%}**" in changed


def test_ratios_are_not_rounded_up_to_a_target(copied_results):
    path = copied_results / "benchmarks" / "results" / "deploy-eager.json"
    recorded = json.loads(path.read_text())
    rows = recorded["rows"]
    rows[0]["ratio"] = 0.9685
    path.write_text(json.dumps(recorded))
    assert f"| {rows[0]['model']} | 0.969× |" in inference_figures.deploy_speed(copied_results)


def test_a_page_without_its_markers_is_an_error(tmp_path):
    block = next(b for b in BLOCKS if b.name == "eager-speed")
    with pytest.raises(ValueError, match="no <!-- generated:eager-speed --> block"):
        regenerate("# a page that lost its block\n", block, ROOT)
