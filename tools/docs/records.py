# SPDX-License-Identifier: MIT
"""Where the committed result files live, and how a figure names the machine and commit that measured it.

Every renderer in this folder reads its figures through these helpers, so a run that did not record its
commit or CPU kind says "not recorded" in the table instead of borrowing today's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path("benchmarks") / "results"  # relative to the repository root, like every page
DEMO_RUNS = Path("docs") / "demo"  # the committed `make demo` runs: demo.json, compare's results.json, the page
LAB_RUNS = Path("docs") / "experiments"

# suffix of a result file measured once per CPU kind: (suffix, what the kind means)
CPU_KINDS = (("native", "this CPU's own kernels"), ("avx2-emulated", "PyTorch limited to AVX2"))


def read_record(root: Path, name: str, folder: Path = RESULTS) -> Any:
    return json.loads((root / folder / name).read_text())


def cpu_label(record: dict) -> str:
    cpu = (record.get("environment") or {}).get("cpu")
    return f"{cpu['label']} ({cpu['model']})" if cpu else "not recorded"


def commit_label(record: dict) -> str:
    commit = record.get("git_commit")
    return f"`{commit}`" if commit else "not recorded"


def per_cpu_kind(root: Path, stem: str) -> list[tuple[str, dict | None]]:
    """(what the kind means, its run or None when not measured) for ``STEM-native.json`` and
    ``STEM-avx2-emulated.json``."""
    runs = []
    for name, meaning in CPU_KINDS:
        path = root / RESULTS / f"{stem}-{name}.json"
        runs.append((meaning, json.loads(path.read_text()) if path.exists() else None))
    return runs
