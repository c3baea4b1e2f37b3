# SPDX-License-Identifier: MIT
"""One planted fault: a text in a file, what replaces it, the tests that must catch it, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass

INDEPENDENT = "tests/test_independent_checks.py"
HISTORY = "history "  # an origin that starts so names the commit that fixed the bug the fault re-plants


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    file: str
    original: str  # must occur exactly once in ``file``
    faulty: str
    tests: tuple[str, ...]  # pytest node ids or test files (no -k: the baseline runs them all in one call)
    quick: bool = False  # in the --quick subset
    # "history <commit>: <the bug as it was made>" for a bug the project really made and fixed, re-planted at
    # today's code; "planned: ..." for one written to probe a test (its test may have been written with it)
    origin: str = ""

    @property
    def from_history(self) -> bool:
        return self.origin.startswith(HISTORY)
