# SPDX-License-Identifier: MIT
"""Atomic writes leave a file as readable as ``open`` would have made it."""

import os
import stat

import pytest

from convzoo import files


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_an_atomic_write_gets_the_mode_a_plain_new_file_gets(tmp_path, umask):
    old = os.umask(umask)
    try:
        files.write_text(tmp_path / "atomic.json", "{}")
        (tmp_path / "plain.json").write_text("{}")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "atomic.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.json").stat().st_mode) == 0o666 & ~umask
    assert not list(tmp_path.glob(".*.tmp"))


def test_results_written_by_earlier_runs_do_not_make_the_code_dirty(monkeypatch):
    from convzoo import provenance

    def git(status):
        return lambda *args: "abc1234\n" if args[0] == "rev-parse" else status

    monkeypatch.setattr(
        provenance, "_git", git(" M docs/experiments/gradients/report.md\n M benchmarks/results/x.json\n")
    )
    assert provenance.git_commit() == "abc1234"  # a lab run after another one in the same checkout
    monkeypatch.setattr(
        provenance, "_git", git(" M docs/experiments/gradients/report.md\n M convzoo/experiments/lab.py\n")
    )
    assert provenance.git_commit() == "abc1234-dirty"
