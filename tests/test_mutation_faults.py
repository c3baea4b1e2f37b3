# SPDX-License-Identifier: MIT
"""The planted-fault list itself (scripts/mutation_faults/) is sound before CI spends minutes running it.

``scripts/mutation_check.py`` refuses a stale fault only after copying the tree; these checks name a stale
or malformed fault in a second: its text must occur exactly once, its tests must exist, its origin must be
a real commit or say it was planned, and every area of the code keeps at least two faults.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from mutation_faults import AREAS, FAULTS, HISTORY  # noqa: E402 - scripts/ is not a package

IDS = [fault.name for fault in FAULTS]


def test_the_list_is_large_and_every_area_has_two_faults():
    assert len(FAULTS) >= 40
    assert {area: len(faults) for area, faults in AREAS.items() if len(faults) < 2} == {}


def test_fault_names_are_unique():
    assert len(set(IDS)) == len(IDS)


FIRST_LIST = 24  # faults at dcdcbbd, mostly written with their tests; those added since are a third from history


def test_a_third_of_the_faults_added_since_the_first_list_come_from_history():
    added = len(FAULTS) - FIRST_LIST
    history = sum(fault.from_history for fault in FAULTS)
    assert 3 * history >= added, f"{history} faults from history for {added} added since the first list"


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_each_fault_plants_a_change_at_todays_code(fault):
    text = (ROOT / fault.file).read_text()
    assert text.count(fault.original) == 1, f"{fault.name}: its text occurs {text.count(fault.original)} times"
    assert fault.faulty != fault.original
    planted = text.replace(fault.original, fault.faulty)
    if fault.file.endswith(".py"):
        ast.parse(planted)  # a fault is a wrong program, not a syntax error


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_each_fault_names_tests_that_exist(fault):
    assert fault.tests
    for selection in fault.tests:
        path, *names = selection.split("::")
        source = ROOT / path
        assert source.is_file(), f"{fault.name}: {path} does not exist"
        defined = {
            node.name
            for node in ast.walk(ast.parse(source.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))
        }
        for name in names:
            assert re.sub(r"\[.*\]$", "", name) in defined, f"{fault.name}: no test named {name} in {path}"


@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_each_fault_says_where_it_came_from(fault):
    assert fault.origin.startswith((HISTORY, "planned: ")), f"{fault.name}: origin {fault.origin!r}"
    if fault.from_history:
        commit = fault.origin[len(HISTORY) :].split(":", 1)[0]
        assert re.fullmatch(r"[0-9a-f]{7,40}", commit), f"{fault.name}: {commit!r} is not a commit id"
        if not (ROOT / ".git").exists():
            pytest.skip("not a git checkout")  # a failure in CI (tests/ci_capabilities.py), which runs in a clone
        found = subprocess.run(
            ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True, check=False
        )
        assert found.returncode == 0, f"{fault.name}: commit {commit} is not in this repository's history"
