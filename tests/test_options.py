# SPDX-License-Identifier: MIT
"""The one table of option rules (``convzoo/options.py``) covers every numeric option of every command, accepts
each command's defaults, and refuses what cannot be used: not finite, out of range, 0 in float32, past 64 bits."""

import argparse
import ast
from pathlib import Path

import pytest

import convzoo
from convzoo.cli import build_parser
from convzoo.errors import OptionError
from convzoo.options import RULES, check_option
from convzoo.training import TrainConfig

PACKAGE = Path(convzoo.__file__).parent


def _numeric_options():
    """(command, dest, default) of every option parsed as a number (or a list of them) by any command."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    found = []
    for name, command in commands.items():
        for action in command._actions:
            numeric_default = isinstance(action.default, (int, float)) and not isinstance(action.default, bool)
            if action.type in (int, float) or numeric_default or getattr(action.type, "__name__", "") == "_batches":
                found.append((name, action.dest, action.default))
    return found


def test_every_numeric_option_of_every_command_has_a_rule():
    options = _numeric_options()
    assert len(options) > 30  # the table is read from the real parsers, not an empty list
    missing = sorted({f"{command} --{dest}" for command, dest, _ in options if dest not in RULES})
    assert not missing, f"numeric options without a rule in convzoo/options.py: {missing}"


@pytest.mark.parametrize("command, dest, default", _numeric_options())
def test_each_default_obeys_its_rule(command, dest, default):
    check_option(dest, default)


@pytest.mark.parametrize(
    "name, value, problem",
    [
        ("budget", float("nan"), "not finite"),
        ("budget", float("inf"), "not finite"),
        ("budget", 1e308, "out of range"),
        ("budget", 0.0, "out of range"),
        ("lr", 1e-50, "rounds to 0 in float32"),
        ("grad_clip", 1e-46, "rounds to 0 in float32"),
        ("seed", 2**63, "out of range"),
        ("seed", -1, "out of range"),
        ("epochs", 2.5, "not an integer"),
        ("momentum", True, "not a number"),
        ("batch", [1, 0], "out of range"),
        ("seed", 10**5000, "an integer of 16,610 bits"),
    ],
    ids=lambda value: "huge" if isinstance(value, int) and value.bit_length() > 64 else None,  # str() would raise
)
def test_values_that_cannot_be_used_are_refused(name, value, problem):
    with pytest.raises(OptionError, match=problem):
        check_option(name, value)


@pytest.mark.parametrize(
    "name, value", [("lr", 1e-30), ("seed", 2**63 - 1), ("budget", 10_080.0), ("momentum", 0.0), ("batch", [1, 16])]
)
def test_values_at_the_edge_inside_are_taken(name, value):
    check_option(name, value)


def test_the_python_api_checks_the_same_table():
    with pytest.raises(OptionError, match=r"--seed must be an integer in \[0, 2\*\*63 - 1\]"):
        TrainConfig(seed=2**64)
    with pytest.raises(OptionError, match="--lr must be a finite number above 0.*rounds to 0 in float32"):
        TrainConfig(lr=1e-50)


# files are read through files.open_input / read_input (non-blocking, regular files only, bounded)
READ_ALLOWED = ("resources.files(", '"/proc/', 'f"/proc/', "os.devnull")


def test_files_are_read_only_through_the_safe_readers():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "files.py" and path.parent == PACKAGE:
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            reads = (isinstance(function, ast.Name) and function.id == "open") or (
                isinstance(function, ast.Attribute) and function.attr in ("read_text", "read_bytes")
            )
            mode = node.args[1] if len(node.args) > 1 else None
            writes = isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax")
            segment = ast.get_source_segment(source, node) or ""
            if reads and not writes and not any(allowed in segment for allowed in READ_ALLOWED):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {segment[:60]}")
    assert not offenders, "read through convzoo.files.open_input/read_input instead:\n" + "\n".join(offenders)
