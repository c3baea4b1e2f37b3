# SPDX-License-Identifier: MIT
"""Where a figure came from: the command, the commit, the machine. Recorded with every result.

A figure that cannot be traced to the code and machine that made it cannot be checked. Every result
file (``benchmarks/results/*.json``, ``docs/*/results.json``, a run's ``config.json``) carries
:func:`provenance`: the exact command, the git commit (``-dirty`` when the tree had uncommitted
changes), the CPU kind (:func:`convzoo.runtime.cpu_kind`), torch and Python versions, and the date.
Benchmarks refuse to record from a dirty tree unless told to, and then say so in the file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from .errors import OptionError
from .runtime import cpu_kind, rerun_limited_to_avx2

RESULT_PATHS = ("benchmarks/results/", "docs/experiments/", "docs/compare/")  # earlier runs' figures: not code


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=5, check=False, cwd=Path(__file__).resolve().parent
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def git_commit() -> str | None:
    """The short commit hash, with ``-dirty`` when tracked files other than recorded results have changed."""
    commit = (_git("rev-parse", "--short", "HEAD") or "").strip()
    if not commit:
        return None
    changed = [line[3:] for line in (_git("status", "--porcelain", "--untracked-files=no") or "").splitlines()]
    dirty = any(not path.startswith(RESULT_PATHS) for path in changed)
    return commit + ("-dirty" if dirty else "")


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "cpu": cpu_kind(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


SPEED_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES")


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed, with the environment variables that change speed or kernels in front."""
    prefix = [f"{name}={os.environ[name]}" for name in SPEED_VARIABLES if name in os.environ]
    return " ".join([*prefix, _command(sys.argv if argv is None else argv)])


def _command(argv: list[str]) -> str:
    script = argv[0]
    if script.endswith(("convzoo", "__main__.py")):  # the console script, or python -m convzoo
        return shlex.join(["convzoo", *argv[1:]])
    if script.endswith(".py"):
        root = Path(__file__).resolve().parents[1]
        with contextlib.suppress(ValueError):
            script = str(Path(script).resolve().relative_to(root))
        return shlex.join(["python", script, *argv[1:]])
    return shlex.join([script, *argv[1:]])


def provenance(*, allow_dirty: bool = False, argv: list[str] | None = None) -> dict[str, Any]:
    """The record to store beside a figure; refuses a dirty tree unless ``allow_dirty`` (then marked)."""
    commit = git_commit()
    dirty = bool(commit and commit.endswith("-dirty"))
    if dirty and not allow_dirty:
        raise OptionError(
            "the working tree has uncommitted changes, so this figure could not be traced to a commit; "
            "commit first, or pass --allow-dirty to record it marked as dirty"
        )
    return {
        "command": command_line(argv),
        "git_commit": commit,
        "dirty": dirty,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "environment": environment(),
    }


def add_machine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--avx2`` and ``--allow-dirty``, the options every per-CPU-kind benchmark takes."""
    parser.add_argument(
        "--avx2",
        action="store_true",
        help="rerun limited to AVX2 kernels (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2): fp32, as an AVX2 CPU",
    )
    parser.add_argument("--allow-dirty", action="store_true", help="record figures from uncommitted code, marked dirty")


def start_measuring(args: argparse.Namespace) -> dict[str, Any]:
    """Rerun limited to AVX2 if ``args.avx2`` asks for it, then the provenance record of the figures to come."""
    if args.avx2:
        rerun_limited_to_avx2()
    return provenance(allow_dirty=args.allow_dirty)
