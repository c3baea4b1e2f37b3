# SPDX-License-Identifier: MIT
"""The licence is stated once and agrees everywhere: LICENSE, pyproject.toml and each source file's SPDX line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPDX = "# SPDX-License-Identifier: MIT"


def test_license_file_and_pyproject_name_mit():
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").splitlines()[0].strip() == "MIT License"
    assert _project_license(ROOT / "pyproject.toml") == "MIT"


def _project_license(path: Path) -> str | None:
    """``[project] license`` of a pyproject.toml: tomllib where Python has it (3.11+), else the line itself."""
    if sys.version_info >= (3, 11):
        import tomllib

        with open(path, "rb") as file:
            return tomllib.load(file)["project"].get("license")
    project = re.search(r"^\[project\]\n(.*?)(?=^\[)", path.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    found = re.search(r'^license\s*=\s*"([^"]*)"', project[1] if project else "", re.MULTILINE)
    return found[1] if found else None


def _tracked_python_files() -> list[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return listed.stdout.split()


def test_every_tracked_python_file_starts_with_the_spdx_line():
    files = _tracked_python_files()
    assert files, "git ls-files found no Python files"
    missing = []
    for name in files:
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        if lines and lines[0].startswith("#!"):  # a shebang stays first
            lines = lines[1:]
        if not lines or lines[0] != SPDX:
            missing.append(name)
    assert not missing, f"no {SPDX!r} line at the top of: {', '.join(missing)}"
