# SPDX-License-Identifier: MIT
"""Where datasets are found on disk: explicit directory, $CONVZOO_DATA, system packages, the cache."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_LOCATIONS = {"fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")]}


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "convzoo"


def candidate_dirs(name: str, data_dir: str | Path | None) -> list[Path]:
    """Directories to search for dataset ``name``, most specific first."""
    candidates: list[Path] = []
    if data_dir is not None:
        candidates += [Path(data_dir), Path(data_dir) / name]
    if os.environ.get("CONVZOO_DATA"):
        root = Path(os.environ["CONVZOO_DATA"])
        candidates += [root / name, root]
    candidates += SYSTEM_LOCATIONS.get(name, [])
    candidates.append(cache_dir() / name)
    return candidates
