# SPDX-License-Identifier: MIT
"""Documentation that code writes, and the check that the committed copies are current.

A generated block sits between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` in its
page (``docs/lecture.md`` is generated whole). Its text is exactly what the block's renderer returns
from the code (the model table, the lecture's numbers) or from a JSON in ``benchmarks/results/``
(the documented figures), so a page cannot drift from what made it: ``tests/test_generated_docs.py``
fails when a block is stale, and ``python -m tools.docs.generated_docs`` (``make docs``) rewrites them.

This is the repository's tooling, not the installed package's: it finds the checkout from its own
location (``--root`` names another one).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from convzoo.cli.models import model_rows, weights_rows
from convzoo.formats import render
from convzoo.report.lecture_page import lecture_markdown

from . import inference_figures, lab_figures, readme_figures, suite_figures, training_figures

ROOT = Path(__file__).resolve().parents[2]  # tools/docs/ -> the repository root


def _models_table(root: Path) -> str:
    return render(model_rows(gmacs=True), "md")


def _weights_table(root: Path) -> str:
    return render(weights_rows(), "md")


def _lecture_page(root: Path) -> str:
    return lecture_markdown()


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    name: str | None  # the marker's name; None: the whole page
    render: Callable[[Path], str]


BLOCKS = (
    Block("README.md", "models", _models_table),
    Block("README.md", "demo-runs", readme_figures.readme_demo),
    Block("README.md", "test-suite", suite_figures.readme_test_suite),
    Block("README.md", "full-runs", readme_figures.readme_full_runs),
    Block("README.md", "deploy-headline", readme_figures.readme_deploy),
    Block("README.md", "lab", readme_figures.readme_lab),
    Block("docs/lab.md", "lab-budgets", lab_figures.budget_moves),
    Block("docs/lab.md", "lab-precision", lab_figures.precision_check),
    Block("docs/lecture.md", None, _lecture_page),
    Block("docs/pretrained.md", "weights-table", _weights_table),
    Block("docs/training.md", "time-to-accuracy", training_figures.time_to_accuracy),
    Block("docs/benchmarks.md", "eager-speed", inference_figures.eager_speed),
    Block("docs/benchmarks.md", "profile-speed", inference_figures.profile_speed),
    Block("docs/training.md", "engine-overhead", training_figures.engine_overhead),
    Block("docs/training.md", "train-profile", training_figures.train_profile),
    Block("docs/training.md", "data-pipeline", training_figures.data_pipeline),
    Block("docs/finetuning.md", "image-pipeline", training_figures.image_pipeline),
    Block("docs/deploy.md", "deploy-speed", inference_figures.deploy_speed),
    Block("docs/deploy.md", "onnx-export", inference_figures.onnx_export),
    Block("docs/deploy.md", "bf16-agreement", inference_figures.bf16_agreement),
    Block("docs/deploy.md", "onnxruntime-speed", inference_figures.onnxruntime_speed),
    Block("docs/deploy.md", "cpu-peers", inference_figures.cpu_peers),
    Block("docs/deploy.md", "inference-profile", inference_figures.inference_profile),
    Block("docs/deploy.md", "int8-speed", inference_figures.int8_speed),
)


def _markers(name: str) -> re.Pattern:
    return re.compile(
        rf"(<!-- generated:{re.escape(name)} -->\n)(.*?)(\n<!-- /generated:{re.escape(name)} -->)", re.DOTALL
    )


def regenerate(text: str, block: Block, root: Path) -> str:
    """``text`` (the page) with ``block`` rewritten; the page must hold the block's markers."""
    rendered = block.render(root).rstrip("\n")
    if block.name is None:
        return rendered + "\n"
    pattern = _markers(block.name)
    if not pattern.search(text):
        raise ValueError(f"{block.page} has no <!-- generated:{block.name} --> block")
    return pattern.sub(lambda match: match.group(1) + rendered + match.group(3), text, count=1)


def expected_pages(root: Path = ROOT) -> dict[str, str]:
    """Every generated page as the code and the JSON results would write it now."""
    pages: dict[str, str] = {}
    for block in BLOCKS:
        current = pages.get(block.page, (root / block.page).read_text())
        pages[block.page] = regenerate(current, block, root)
    return pages


def stale_pages(root: Path = ROOT) -> list[str]:
    return [page for page, text in expected_pages(root).items() if (root / page).read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="rewrite (or --check) the generated parts of README.md and docs/")
    parser.add_argument("--check", action="store_true", help="only report stale pages; exit 1 if any")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository checkout (default: this file's)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages(args.root)
        for page in stale:
            print(f"{page} is stale: run make docs (python -m tools.docs.generated_docs)", file=sys.stderr)
        return 1 if stale else 0
    for page, text in expected_pages(args.root).items():
        if (args.root / page).read_text() != text:
            (args.root / page).write_text(text)
            print(f"rewrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
