# SPDX-License-Identifier: MIT
"""In CI a skip for a capability CI provides fails the run (tests/ci_capabilities.py); elsewhere it stays a skip."""

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def _run(tmp_path, ci: bool):
    (tmp_path / "conftest.py").write_text(
        "from ci_capabilities import pytest_runtest_logreport, pytest_sessionfinish  # noqa: F401\n"
    )
    (tmp_path / "test_capability.py").write_text(
        "import pytest\n\n"
        "def test_needs_a_mount():\n    pytest.skip('cannot mount a tmpfs here: permission denied')\n\n"
        "def test_needs_bf16():\n    pytest.skip('no native bf16 on this CPU')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip


def test_a_mount_skip_fails_ci_and_a_bf16_skip_does_not(tmp_path):
    ci = _run(tmp_path, ci=True)
    assert ci.returncode == 1, ci.stdout
    assert "silent skip in CI" in ci.stdout and "test_needs_a_mount" in ci.stdout
    assert "test_needs_bf16" not in ci.stdout.split("silent skip in CI")[-1]  # the CPU kind varies: a real skip
    local = _run(tmp_path, ci=False)
    assert local.returncode == 0 and "2 skipped" in local.stdout, local.stdout
