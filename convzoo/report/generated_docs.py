"""Documentation that code writes, and the check that the committed copies are current.

A generated block sits between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` in its
page (``docs/lecture.md`` is generated whole). Its text is exactly what the block's renderer returns
from the code (the model table, the lecture's numbers) or from a JSON in ``benchmarks/results/``
(the documented figures), so a page cannot drift from what made it: ``tests/test_generated_docs.py``
fails when a block is stale, and ``python -m convzoo.report.generated_docs`` rewrites them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import figure_tables

ROOT = Path(__file__).resolve().parents[2]


def _models_table(root: Path) -> str:
    from ..cli.models import model_rows
    from ..tables import render

    return render(model_rows(gmacs=True), "md")


def _weights_table(root: Path) -> str:
    from ..cli.models import weights_rows
    from ..tables import render

    return render(weights_rows(), "md")


def _lecture_page(root: Path) -> str:
    from .lecture import lecture_markdown

    return lecture_markdown()


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    name: str | None  # the marker's name; None: the whole page
    render: Callable[[Path], str]


BLOCKS = (
    Block("README.md", "models", _models_table),
    Block("README.md", "demo-runs", figure_tables.readme_demo),
    Block("README.md", "full-runs", figure_tables.readme_full_runs),
    Block("README.md", "deploy-headline", figure_tables.readme_deploy),
    Block("README.md", "lab", figure_tables.readme_lab),
    Block("docs/lecture.md", None, _lecture_page),
    Block("docs/pretrained.md", "weights-table", _weights_table),
    Block("docs/training.md", "time-to-accuracy", figure_tables.time_to_accuracy),
    Block("docs/benchmarks.md", "eager-speed", figure_tables.eager_speed),
    Block("docs/benchmarks.md", "profile-speed", figure_tables.profile_speed),
    Block("docs/training.md", "engine-overhead", figure_tables.engine_overhead),
    Block("docs/training.md", "train-profile", figure_tables.train_profile),
    Block("docs/training.md", "data-pipeline", figure_tables.data_pipeline),
    Block("docs/finetuning.md", "image-pipeline", figure_tables.image_pipeline),
    Block("docs/deploy.md", "deploy-speed", figure_tables.deploy_speed),
    Block("docs/deploy.md", "onnx-export", figure_tables.onnx_export),
    Block("docs/deploy.md", "bf16-agreement", figure_tables.bf16_agreement),
    Block("docs/deploy.md", "onnxruntime-speed", figure_tables.onnxruntime_speed),
    Block("docs/deploy.md", "inference-profile", figure_tables.inference_profile),
    Block("docs/deploy.md", "int8-speed", figure_tables.int8_speed),
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
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages()
        for page in stale:
            print(f"{page} is stale: run python -m convzoo.report.generated_docs", file=sys.stderr)
        return 1 if stale else 0
    for page, text in expected_pages().items():
        if (ROOT / page).read_text() != text:
            (ROOT / page).write_text(text)
            print(f"rewrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
