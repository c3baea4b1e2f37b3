# SPDX-License-Identifier: MIT
"""`convzoo demo`: one budget for compare and the lab, decided in one place."""

import json

import pytest

from convzoo.cli import demo, main


@pytest.fixture
def clock(monkeypatch):
    """A fake clock: compare and each experiment advance it by what the test says they took."""
    now = [1000.0]
    monkeypatch.setattr(demo.time, "perf_counter", lambda: now[0])
    return now


def _write_parts(out, parts):
    """An experiment's results.json as the lab writes it, reduced to its parts' names and verdicts."""
    out.mkdir(parents=True, exist_ok=True)
    record = {"held": None, "parts": [{"name": name, "verdict": verdict, "evidence": "-"} for name, verdict in parts]}
    (out / "results.json").write_text(json.dumps(record))


def _fake_lab(monkeypatch, clock, calls, took=None):
    """Stand-ins for compare, each experiment and the page: each advances the clock by what ``took`` says (default:
    an experiment uses all of its budget; bottleneck's cost scope 30 s)."""
    took = took or {}

    def experiment(name, *, out, budget_minutes=None, scope=None):
        calls.append((name, budget_minutes, scope))
        clock[0] += took.get(name, 30.0 if budget_minutes is None else budget_minutes * 60)
        _write_parts(out, [(f"{name} part one", "held"), (f"{name} part two", "undecided")])
        return out / "report.md"

    def compare(budget_minutes, out):
        calls.append(("compare", budget_minutes, None))
        clock[0] += took.get("compare", 150.0)
        return 0

    monkeypatch.setattr(demo, "_compare", compare)
    monkeypatch.setattr(demo.experiments, "run", experiment)
    monkeypatch.setattr(demo, "write_demo_page", lambda out, record: calls.append(("page", None, None)) or out)


def test_the_cheap_parts_run_first_compare_gets_its_share_and_the_lab_the_rest(tmp_path, clock, monkeypatch):
    calls = []
    _fake_lab(monkeypatch, clock, calls)
    assert main(["demo", "--budget", "10", "--out", str(tmp_path)]) == 0
    # filters 0.05 x 10 = 0.5 min (30 s), bottleneck's cost scope 30 s, compare 0.3 x 10 = 3 min of which it took
    # 150 s: 210 s spent; the lab plans for 600 - 0.05 x 600 - 20 (the page) - 210 = 340 s = 5.667 min, gradients
    # 0.4 of it (2.267 min, all used), degradation what is left then (5.667 - 2.267 = 3.4 min)
    assert [(name, scope) for name, _, scope in calls] == [
        ("filters", None), ("bottleneck", "cost"), ("compare", None), ("gradients", None), ("degradation", None),
        ("page", None),
    ]  # fmt: skip
    assert [round(b, 3) if b else b for _, b, _ in calls] == [0.5, None, 3.0, 2.267, 3.4, None]
    record = json.loads((tmp_path / "demo.json").read_text())
    assert record["seconds"] == 550.0 and record["budget_minutes"] == 10  # 50 s kept back: the reserve and the page
    assert [p["part"] for p in record["parts"]] == ["filters", "bottleneck", "compare", "gradients", "degradation"]
    assert record["parts"][1]["scope"] == "cost"


def test_an_overrun_compare_leaves_the_lab_out_rather_than_the_budget(tmp_path, clock, monkeypatch):
    calls = []
    _fake_lab(monkeypatch, clock, calls, took={"compare": 8.8 * 60})
    assert main(["demo", "--budget", "10", "--out", str(tmp_path)]) == 0
    assert [name for name, _, _ in calls] == ["filters", "bottleneck", "compare", "page"]  # no time for the lab
    parts = json.loads((tmp_path / "demo.json").read_text())["parts"]
    assert [p.get("skipped") for p in parts[3:]] == [True, True]


def test_a_stopped_compare_stops_the_demo(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "_compare", lambda budget_minutes, out: 143)
    ran = []

    def experiment(name, *, out, **options):
        ran.append(name)
        _write_parts(out, [])
        return out / "report.md"

    monkeypatch.setattr(demo.experiments, "run", experiment)
    assert main(["demo", "--budget", "10", "--out", str(tmp_path)]) == 143
    assert ran == ["filters", "bottleneck"]  # the cheap parts before compare; nothing after the stop
    assert main(["demo", "--budget", "0", "--out", str(tmp_path)]) == 2
    assert "--budget must be minutes above 0" in capsys.readouterr().err
    assert main(["demo", "--budget", "0.2", "--out", str(tmp_path)]) == 2
    assert "--budget 0.2 cannot be met: the demo needs at least 1 minute" in capsys.readouterr().err


def test_the_lab_lines_give_the_tally_and_each_verdicts_parts(tmp_path):
    parts = [("plain worse", "held"), ("deeper residual as good", "leans for"), ("thousand layers", "did not hold")]
    _write_parts(tmp_path, parts)
    record = json.loads((tmp_path / "results.json").read_text())
    lines = demo.lab_summary("degradation", record, tmp_path / "report.md")
    assert lines == [
        "lab degradation: 1 of 3 held, 1 leans for, 1 did not hold",
        "  held: plain worse",
        "  leans for: deeper residual as good",
        "  did not hold: thousand layers",
        f"  report: {tmp_path / 'report.md'}",
    ]


def test_the_demos_compare_is_the_compare_library_without_its_learns_check_on_its_share_of_the_clock(
    tmp_path, monkeypatch
):
    from convzoo import compare

    seen = []
    monkeypatch.setattr(
        compare, "run", lambda config, budget, on_event, **options: seen.append((config, budget, options))
    )
    monkeypatch.setattr(demo, "run_with_progress", lambda config, budget, **options: seen.append((config, budget)) or 0)
    assert demo._compare(3.0, tmp_path) == 0
    ((config, budget),) = seen
    assert config.learns_check is False and config.out == str(tmp_path) and config.models == list(compare.LINEUP)
    assert budget.seconds == 180.0 and budget.spent_before == 0.0 and budget.left() <= 180.0


def test_the_readme_line_says_what_each_part_took_and_decided(tmp_path):
    from tools.docs.readme_figures import readme_demo

    folder = tmp_path / "docs" / "demo"
    folder.mkdir(parents=True)
    parts = [
        {"part": "filters", "seconds": 30.0, "headline": "held"},
        {"part": "bottleneck", "scope": "cost", "seconds": 14.0, "headline": "3 of 3 held"},
        {"part": "compare", "seconds": 102.0},
        {"part": "gradients", "seconds": 150.0, "headline": "8 of 11 held, 3 undecided"},
        {"part": "degradation", "skipped": True},
    ]
    cpu = {"model": "AMD EPYC", "label": "AVX2"}
    (folder / "demo.json").write_text(json.dumps({
        "budget_minutes": 10, "seconds": 540.0, "parts": parts, "cpu": cpu, "provenance": {"git_commit": "abc1234"},
    }))  # fmt: skip
    rows = [{"model": "a", "latency_b1_ms": 3.0}, {"model": "b", "latency_b1_ms": None}, {"model": "c"}]
    (folder / "results.json").write_text(json.dumps({"rows": rows}))
    line = readme_demo(tmp_path)
    assert line.startswith("`make demo`, measured, set-up excluded: 9.0 of 10 minutes on AMD EPYC as AVX2 (commit `abc")
    assert "filters 0.5 min: held; bottleneck (cost) 0.2 min: 3 of 3 held; compare 1.7 min: 1 of 3 models timed" in line
    assert "gradients 2.5 min: 8 of 11 held, 3 undecided; degradation skipped" in line
