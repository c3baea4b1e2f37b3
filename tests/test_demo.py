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
    record = {"parts": [{"name": name, "verdict": verdict, "evidence": "-"} for name, verdict in parts]}
    (out / "results.json").write_text(json.dumps(record))


def test_the_lab_gets_what_compare_left_split_by_its_shares(tmp_path, clock, monkeypatch):
    calls = []

    def compare(budget_minutes, out):
        calls.append(("compare", budget_minutes))
        clock[0] += 5.0 * 60  # compare took 5 of its 6 minutes
        return 0

    def experiment(name, *, out, budget_minutes):
        calls.append((name, budget_minutes))
        clock[0] += budget_minutes * 60  # each experiment uses all of its budget
        _write_parts(out, [(f"{name} part one", "held"), (f"{name} part two", "undecided")])
        return out / "report.md"

    monkeypatch.setattr(demo, "_compare", compare)
    monkeypatch.setattr(demo.experiments, "run", experiment)
    assert main(["demo", "--budget", "10", "--out", str(tmp_path)]) == 0
    # compare: 0.6 x 10 = 6 min; left 10 x 0.95 - 5 = 4.5 min: gradients 0.4 x 4.5 = 1.8, degradation the other 2.7
    assert [name for name, _ in calls] == ["compare", "gradients", "degradation"]
    assert [round(b, 6) for _, b in calls] == [6.0, 1.8, 2.7]
    record = json.loads((tmp_path / "demo.json").read_text())
    assert record["seconds"] == 570.0 and record["budget_minutes"] == 10
    assert [p["part"] for p in record["parts"]] == ["compare", "gradients", "degradation"]


def test_an_overrun_compare_leaves_the_lab_out_rather_than_the_budget(tmp_path, clock, monkeypatch):
    def compare(budget_minutes, out):
        clock[0] += 9.8 * 60
        return 0

    ran = []
    monkeypatch.setattr(demo, "_compare", compare)
    monkeypatch.setattr(demo.experiments, "run", lambda name, **kw: ran.append(name))
    assert main(["demo", "--budget", "10", "--out", str(tmp_path)]) == 0
    assert ran == []  # 0.2 min left: below the least an experiment can use
    parts = json.loads((tmp_path / "demo.json").read_text())["parts"]
    assert [p.get("skipped") for p in parts[1:]] == [True, True]


def test_a_stopped_compare_stops_the_demo(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "_compare", lambda budget_minutes, out: 143)
    monkeypatch.setattr(demo.experiments, "run", lambda *a, **k: pytest.fail("the lab ran after a stop"))
    assert main(["demo", "--budget", "10", "--out", str(tmp_path)]) == 143
    assert main(["demo", "--budget", "0", "--out", str(tmp_path)]) == 2
    assert "--budget must be minutes above 0" in capsys.readouterr().err
    assert main(["demo", "--budget", "0.2", "--out", str(tmp_path)]) == 2
    assert "--budget 0.2 cannot be met: the demo needs at least 1 minute" in capsys.readouterr().err


def test_the_lab_lines_name_each_verdict_and_point_undecided_parts_to_the_committed_run(tmp_path, capsys):
    parts = [("plain worse", "held"), ("deeper residual as good", "undecided"), ("thousand layers", "did not hold")]
    _write_parts(tmp_path, parts)
    record = json.loads((tmp_path / "results.json").read_text())
    lines = demo.lab_summary("degradation", record, tmp_path / "report.md")
    assert lines[0] == (
        "lab degradation: held: plain worse; undecided: deeper residual as good; did not hold: thousand layers"
    )
    assert "docs/experiments/degradation/report.md" in lines[1] and lines[2].endswith("report.md")
    decided = demo.lab_summary("degradation", {"parts": [{"name": "a", "verdict": "held"}]}, tmp_path / "report.md")
    assert decided == ["lab degradation: held: a", f"  report: {tmp_path / 'report.md'}"]
