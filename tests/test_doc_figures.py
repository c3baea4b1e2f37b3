# SPDX-License-Identifier: MIT
"""Every measured figure in the docs comes from a generated block, so it cannot drift from its JSON.

A figure is a number with a unit (s, min, ms, MiB, GB, img/s, images/s, a × or x ratio) or a percent
sign, in prose: outside fenced code, inline code, link targets and ``<!-- generated:NAME -->`` blocks
(which ``tests/test_generated_docs.py`` checks against ``benchmarks/results/``). Pages that are generated
whole (docs/lecture.md) are skipped. What remains must be on ALLOWED: facts from papers, targets and
settings, which no run measures. A measurement written into prose by hand fails here: render it from
its JSON in ``tools/docs/`` or delete it.
"""

import re
from collections import Counter

from tools.docs.generated_docs import BLOCKS, ROOT

UNIT = (
    r"(?:%|×(?!\s*\d)|x(?![\d\w])|ms\b|µs\b|s\b|min\b|minutes?\b|-minute\b|seconds?\b|-second\b|hours?\b|h\b"
    r"|MiB\b|GiB\b|KiB\b|MB\b|GB\b|kB\b|img/s\b|images/s\b)"
)  # × or x followed by a digit is a size (3×3, 224x224), not a ratio
FIGURE = re.compile(r"(?<![\w.\-/])~?\d[\d,]*(?:\.\d+)?(?:\s*[–-]\s*\d[\d,]*(?:\.\d+)?)?\s?" + UNIT)

# (page, figure, why it is not measured here). One entry per occurrence.
ALLOWED = [
    ("docs/training.md", "1 MB", "target: the size of a crafted checkpoint refused cheaply (issue 33)"),
    ("docs/training.md", "200 MB", "target: the memory bound on refusing it (tests/test_crafted_checkpoints.py)"),
    ("README.md", "94.9%", "paper: ResNet-18's published Fashion-MNIST accuracy"),
    ("README.md", "2%", "test tolerance against the papers' parameter counts"),
    ("README.md", "93%", "target"),
    ("README.md", "94%", "target"),
    ("docs/benchmarks.md", "24 GiB", "the machine's memory, a fact of the machine"),
    ("docs/deploy.md", "2×", "target"),
    ("docs/deploy.md", "2.5×", "target"),
    ("docs/deploy.md", "99%", "target"),
    ("docs/deploy.md", "2.0×", "target"),
    ("docs/design-notes.md", "0.97×", "history: the rounding error the generated tables removed"),
    ("docs/finetuning.md", "2 GiB", "setting: the in-memory limit for image folders"),
    ("docs/finetuning.md", "64×", "arithmetic: (224 / 28)²"),
    ("docs/finetuning.md", "90%", "test threshold of the fine-tuning recipe test"),
    ("docs/training.md", "30 s", "SLURM's documented default grace period"),
    ("docs/training.md", "30 s", "SLURM's documented default grace period"),
    ("docs/training.md", "93.0%", "target"),
    ("docs/training.md", "5 minutes", "target"),
    ("docs/training.md", "94.0%", "target"),
    ("docs/training.md", "15 minutes", "target"),
    ("docs/training.md", "93.0%", "target"),
    ("docs/training.md", "10 minutes", "target"),
    ("docs/training.md", "10-minute", "target"),
    ("docs/training.md", "93%", "target"),
    ("docs/training.md", "5-minute", "target (the row's name)"),
    ("docs/training.md", "93%", "target"),
    ("docs/training.md", "10 minutes", "target"),
    ("docs/training.md", "93%", "target"),
    ("docs/training.md", "5-minute", "target (the budget the recipe was tuned for)"),
    ("docs/training.md", "10 minutes", "target"),
    ("docs/training.md", "93%", "target"),
    ("docs/training.md", "15%", "setting: one-cycle warm-up fraction (pct_start=0.15)"),
    ("docs/training.md", "25%", "setting: torch's default warm-up fraction"),
    ("docs/training.md", "5%", "target: the engine-overhead budget"),
    ("docs/lab.md", "10%", "setting: degradation's TRAINED_BELOW, the state its equivalence part needs"),
    ("docs/lab.md", "10%", "setting: degradation's TRAINED_BELOW, the state its equivalence part needs"),
    ("docs/lab.md", "10%", "setting: degradation's TRAINED_BELOW, the state its equivalence part needs"),
]


def prose(text: str) -> str:
    """``text`` without generated blocks, fenced or indented code, inline code and link targets."""
    text = re.sub(r"<!-- generated:([\w-]+) -->.*?<!-- /generated:\1 -->", "", text, flags=re.DOTALL)
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    text = re.sub(r"(?:^|(?<=\n\n))(?: {4}[^\n]*(?:\n|$))+", "", text)  # indented code: 4 spaces after a blank line
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def figures(text: str) -> list[str]:
    return [match.group(0) for match in FIGURE.finditer(prose(text))]


def pages() -> list[str]:
    whole = {block.page for block in BLOCKS if block.name is None}
    found = ["README.md", *(f"docs/{path.name}" for path in sorted((ROOT / "docs").glob("*.md")))]
    return [page for page in found if page not in whole]


def test_the_scanner_finds_figures_in_prose_and_not_in_generated_blocks_or_code():
    text = (
        "ran at 409 images/s (2.4 minutes an epoch), 13-minute projection, 2.28× faster, 61–72% and ~3% off, 5 ms\n"
        "a 3×3 kernel at 224x224, 1×1 reductions, `--budget 8 min`, 20 layers\n"
        "<!-- generated:x -->\n12 s and 50%\n<!-- /generated:x -->\n```\n7 s\n```\n\n    make x  # 9 min\n"
    )
    assert figures(text) == ["409 images/s", "2.4 minutes", "13-minute", "2.28×", "61–72%", "~3%", "5 ms"]


def test_every_figure_in_prose_is_generated_or_allowed():
    found = Counter((page, figure) for page in pages() for figure in figures((ROOT / page).read_text()))
    allowed = Counter((page, figure) for page, figure, _ in ALLOWED)
    unexplained = sorted((found - allowed).elements())
    assert not unexplained, (
        f"figures in prose outside generated blocks: {unexplained}; render them from their JSON "
        "(tools/docs/) or delete them, or add a paper fact or target to ALLOWED with its reason"
    )
    stale = sorted((allowed - found).elements())
    assert not stale, f"ALLOWED lists figures no longer in the docs: {stale}; remove them"
