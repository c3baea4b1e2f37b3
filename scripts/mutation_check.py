# SPDX-License-Identifier: MIT
"""Mutation check: plant one deliberate fault at a time in a copy of the code and run the tests that should catch it.

    python scripts/mutation_check.py            # every fault, as CI runs it; writes the record in benchmarks/results/
    python scripts/mutation_check.py --quick    # a two-minute subset while you work; writes nothing
    python scripts/mutation_check.py --only drop_path_rescale eval_top5
    python scripts/mutation_check.py --list     # the faults, by area, with where each came from

The faults are in ``scripts/mutation_faults/``, one module per area of the code. Each says where it came from:
``history <commit>`` re-plants a bug the project really made and fixed (at today's code), so the list
measures the suite on faults its authors did not plan; ``planned`` ones were written to probe a test.

A fault that leaves its tests green "survived": the suite cannot tell the faulty code from the right one,
so a test is missing or too weak. The check is an instrument, so it refuses to give a reading it cannot
back:

- **It never touches the working tree.** The code under test is a copy of the commit (``git archive
  HEAD``; ``--worktree``: the tracked and untracked files as they are now, recorded as dirty), written to a
  temporary directory; pytest runs there with that directory first on ``PYTHONPATH``. Other people can keep
  editing the checkout while it runs, and an interrupted run leaves nothing mutated.
- **A baseline first.** Every selected test runs once on the unmutated copy; unless all of them pass (and
  each fault selects at least one), it stops: a test that already fails would "catch" every fault.
- **A fault whose text is not in its file is an error** that names the fault (exit 2), never a skip: the
  code moved on and the fault must be rewritten against it.
- **Caught means an assertion failed** in a selected test, read from pytest's JUnit XML: a failing
  ``assert``, ``torch.testing.assert_close``, or ``pytest.raises``/``pytest.fail``. A collection or import
  error, a fixture error, a test that crashes with another exception, no test selected (pytest exit 5) or
  a timeout do not count: each of those also happens when the test is broken, not the code.

The record holds the command, the commit and the CPU kind, and per fault the tests that caught it (or
why it was not caught). Exit status: 0 all caught, 1 some survived, 2 the check itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from mutation_faults import AREAS, FAULTS, Fault  # noqa: E402 - scripts/ is on sys.path when run as a script

from convzoo.provenance import provenance  # noqa: E402 - importable only after the sys.path line above

RESULT = ROOT / "benchmarks" / "results" / "mutation_check.json"


class CheckError(Exception):
    """The instrument cannot give a reading (stale fault, failing baseline, no copy): exit 2."""


# --- the copy ---------------------------------------------------------------------------------------------
def _git(*args: str, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=capture, check=True)


def copy_of_code(destination: Path, *, worktree: bool) -> None:
    """The commit's tracked files (``git archive HEAD``), or with ``worktree`` the files as they are on disk."""
    if not worktree:
        archive = _git("archive", "--format=tar", "HEAD").stdout
        subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
        return
    listing = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def plant(fault: Fault, tree: Path) -> str:
    """Write ``fault`` into the copy; returns the original text to restore. Stale text is a CheckError."""
    path = tree / fault.file
    if not path.exists():
        raise CheckError(f"fault {fault.name}: {fault.file} does not exist in the code under test")
    original = path.read_text()
    found = original.count(fault.original)
    if found != 1:
        raise CheckError(
            f"fault {fault.name}: its text occurs {found} times in {fault.file} (needs exactly 1); "
            f"rewrite the fault against the current code: {fault.original!r}"
        )
    path.write_text(original.replace(fault.original, fault.faulty))
    return original


# --- running pytest and reading its verdicts ------------------------------------------------------------
@dataclass
class Outcome:
    """One test's verdict from the JUnit XML: passed, skipped, assertion (failed on a check), crash or error."""

    test: str
    verdict: str
    message: str = ""


ASSERTION_PREFIXES = ("assert", "AssertionError", "Failed:")  # bare assert, assert_close, pytest.raises/fail


def _node_id(case: ElementTree.Element) -> str:
    parts = case.get("classname", "").split(".")
    # classname is "tests.test_x" or "tests.test_x.TestClass"; the file is the leading path of test_ modules
    files = [i for i, part in enumerate(parts) if part.startswith("test_")]
    cut = files[0] + 1 if files else len(parts)
    path = "/".join(parts[:cut]) + ".py"
    return "::".join([path, *parts[cut:], case.get("name", "")])


def read_junit(path: Path) -> list[Outcome]:
    outcomes = []
    for case in ElementTree.parse(path).iter("testcase"):
        verdict, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                message = (child.get("message") or "").strip()
                if child.tag == "skipped":
                    verdict = "skipped"
                elif child.tag == "error":  # fixture set-up/tear-down or collection
                    verdict = "error"
                else:
                    verdict = "assertion" if message.startswith(ASSERTION_PREFIXES) else "crash"
                break
        outcomes.append(Outcome(_node_id(case), verdict, message.splitlines()[0][:200] if message else ""))
    return outcomes


def run_pytest(tree: Path, tests: tuple[str, ...], timeout: int) -> tuple[int | None, list[Outcome], str]:
    """(exit code or None on timeout, per-test outcomes, pytest's last line) for ``tests`` run inside ``tree``."""
    report = tree / ".mutation-junit.xml"
    report.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-p",
        "no:randomly",
        f"--junitxml={report}",
        "-o",
        "junit_family=xunit1",
        *tests,
    ]
    try:
        completed = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, [], f"timed out after {timeout} s"
    outcomes = read_junit(report) if report.exists() else []
    lines = completed.stdout.strip().splitlines() or completed.stderr.strip().splitlines() or [""]
    return completed.returncode, outcomes, lines[-1]


def selected_by(selection: str, outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes a node id or a file path selects (a parametrized test's id selects all its cases)."""
    return [o for o in outcomes if o.test == selection or o.test.startswith((selection + "[", selection + "::"))]


def check_imports_from(tree: Path) -> None:
    """The copy, not the installed checkout, must be what ``import convzoo`` finds (an editable install could win)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    found = subprocess.run(
        [sys.executable, "-c", "import convzoo; print(convzoo.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(tree.resolve()):
        raise CheckError(f"in the copy, `import convzoo` finds {found}, not the copy: the check would test nothing")


def baseline(tree: Path, faults: list[Fault], timeout: int) -> dict:
    """Every selected test on the unmutated copy, in one pytest call; a CheckError unless all pass."""
    tests = tuple(dict.fromkeys(test for fault in faults for test in fault.tests))
    start = time.perf_counter()
    code, outcomes, last = run_pytest(tree, tests, timeout * 2)
    problems = [f"pytest exit {code}: {last}"] if code != 0 else []
    problems += [f"{o.test} {o.verdict}: {o.message}" for o in outcomes if o.verdict not in ("passed", "skipped")]
    for fault in faults:
        for selection in fault.tests:
            ran = [o for o in selected_by(selection, outcomes) if o.verdict == "passed"]
            if not ran:
                problems.append(f"{fault.name}: {selection} selects no test that passes on the unmutated code")
    if problems:
        raise CheckError(
            "the baseline (unmutated code) does not pass, so no fault can be judged:\n  " + "\n  ".join(problems)
        )
    return {"tests": len(outcomes), "pytest": last, "seconds": round(time.perf_counter() - start, 1)}


def run_with_fault(fault: Fault, tree: Path, timeout: int) -> dict:
    start = time.perf_counter()
    original = plant(fault, tree)
    try:
        code, outcomes, last = run_pytest(tree, fault.tests, timeout)
    finally:
        (tree / fault.file).write_text(original)
    mine = [o for selection in fault.tests for o in selected_by(selection, outcomes)]
    caught_by = [o.test for o in mine if o.verdict == "assertion"]
    if code is None:
        why = last
    elif code == 5 or not mine:
        why = "no test selected"
    elif caught_by:
        why = ""
    else:
        other = [f"{o.test}: {o.verdict} ({o.message})" for o in mine if o.verdict in ("crash", "error")]
        why = "; ".join(other) if other else "every selected test passed"
    return {
        **asdict(fault),
        "caught": bool(caught_by) and code is not None,
        "caught_by": caught_by,
        "not_caught_because": why or None,
        "pytest_exit": code,
        "pytest": last,
        "seconds": round(time.perf_counter() - start, 1),
    }


def _fields(result: dict) -> dict:
    """The Fault fields of one result (the result adds its outcome to them)."""
    return {name: result[name] for name in Fault.__dataclass_fields__}


def _areas(results: list[dict]) -> dict:
    """Per area: how many faults ran, how many came from history, how many were caught."""
    by_name = {result["name"]: result for result in results}
    summary = {}
    for area, members in AREAS.items():
        ran = [by_name[fault.name] for fault in members if fault.name in by_name]
        summary[area] = {
            "faults": len(ran),
            "from_history": sum(fault.from_history for fault in members if fault.name in by_name),
            "caught": sum(result["caught"] for result in ran),
        }
    return summary


def _record(args: argparse.Namespace) -> dict:
    """Provenance of the code under test: HEAD, clean (the copy is the commit), unless ``--worktree``."""
    record = provenance(allow_dirty=True)
    head = _git("rev-parse", "--short", "HEAD").stdout.decode().strip()
    dirty = bool(args.worktree and _git("status", "--porcelain").stdout.strip())
    return {
        **record,
        "git_commit": head + ("-dirty" if dirty else ""),
        "dirty": dirty,
        "code_under_test": "working tree copy" if args.worktree else "git archive HEAD",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="fault names to run (default: all); writes no record")
    parser.add_argument("--quick", action="store_true", help="the CI subset; writes no record")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per fault")
    parser.add_argument("--worktree", action="store_true", help="test the files on disk, not HEAD (recorded dirty)")
    parser.add_argument("--list", action="store_true", help="print the faults and exit")
    args = parser.parse_args()
    faults = [f for f in FAULTS if (not args.only or f.name in args.only) and (not args.quick or f.quick)]
    if args.list:
        for area, members in AREAS.items():
            chosen = [fault for fault in members if fault in faults]
            history = sum(fault.from_history for fault in chosen)
            print(f"{area}: {len(chosen)} faults, {history} from history")
            for fault in chosen:
                print(f"  {fault.name:30s} {'quick' if fault.quick else '     '} {fault.file}: {fault.what}")
                print(f"  {'':30s}       from {fault.origin}")
        return 0
    unknown = set(args.only or ()) - {f.name for f in FAULTS}
    if unknown:
        print(f"error: no fault named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    record = _record(args)
    start = time.perf_counter()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="convzoo-mutation-") as temporary:
            tree = Path(temporary)
            copy_of_code(tree, worktree=args.worktree)
            check_imports_from(tree)
            for fault in faults:  # every fault's text first: a stale one is named before minutes of tests
                (tree / fault.file).write_text(plant(fault, tree))
            base = baseline(tree, faults, args.timeout)
            print(f"baseline: {base['pytest']} ({base['seconds']} s)", flush=True)
            for fault in faults:
                result = run_with_fault(fault, tree, args.timeout)
                verdict = (
                    f"caught by {', '.join(result['caught_by'])}" if result["caught"] else result["not_caught_because"]
                )
                print(
                    f"{'caught  ' if result['caught'] else 'SURVIVED'} {fault.name:26s} {result['seconds']:6.1f} s  "
                    f"{verdict}",
                    flush=True,
                )
                results.append(result)
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    survived = [r["name"] for r in results if not r["caught"]]
    seconds = round(time.perf_counter() - start, 1)
    if not args.only and not args.quick:
        RESULT.write_text(
            json.dumps(
                {
                    **record,
                    "seconds": seconds,
                    "baseline": base,
                    "areas": _areas(results),
                    "from_history": sum(Fault(**_fields(r)).from_history for r in results),
                    "faults": results,
                    "survived": survived,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {RESULT.relative_to(ROOT)}")
    print(
        f"{len(results) - len(survived)} of {len(results)} faults caught in {seconds} s"
        + (f"; survived: {', '.join(survived)}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
