# SPDX-License-Identifier: MIT
"""Real small filesystems for tests of full disks and read-only outputs (a tmpfs: root only)."""

import contextlib
import subprocess

import pytest


@contextlib.contextmanager
def mounted_tmpfs(path, megabytes, *, read_only=False):
    """A tmpfs of ``megabytes`` at the existing folder ``path``; skips the test where mounting is not allowed."""
    options = f"{'ro,' if read_only else ''}size={megabytes}m"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
