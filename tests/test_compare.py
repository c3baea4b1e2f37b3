# SPDX-License-Identifier: MIT
"""`convzoo compare`: the budget plan, the learns-check, a failing model, and stop + resume."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from convzoo.cli import main
from convzoo.errors import OptionError
from convzoo.report import compare as compare_module
from convzoo.report.measure import learns
from convzoo.report.plan import MAX_STEPS, MIN_STEPS, SAFETY, Probe, make_plan
from convzoo.stopping import StopSignal

CHEAP = ["mobilenet_v3_small", "mobilenet_v2"]  # cheap at 224 px and at 28 px, on any CPU


def _probes(step_seconds):
    return {f"m{i}": Probe(build_s=0.1, forward_b1_s=0.01, train_step_s=s) for i, s in enumerate(step_seconds)}


def test_the_plan_uses_the_budget_and_cuts_the_most_expensive_first():
    roomy = make_plan(_probes([0.05, 0.1]), budget_s=600, probe_s=5, batch_size=64, amp="none")
    assert roomy.steps == MAX_STEPS and roomy.repeats == 2 and roomy.cuts() == []
    tight = make_plan(_probes([0.5, 1.0]), budget_s=120, probe_s=5, batch_size=64, amp="none")
    assert MIN_STEPS <= tight.steps < MAX_STEPS and tight.estimate_s <= SAFETY * 120
    assert "training shortened" in tight.cuts()[0]
    # one model far slower to train than the others: it alone leaves the learns-check, with the reason
    lopsided = make_plan(_probes([0.05, 0.05, 8.0]), budget_s=150, probe_s=5, batch_size=64, amp="none")
    trained = {m.name: m.train_steps for m in lopsided.models}
    assert trained["m0"] == trained["m1"] >= MIN_STEPS and trained["m2"] == 0
    assert "learns-check left out" in lopsided.models[2].reason and lopsided.estimate_s <= SAFETY * 150


def test_without_the_learns_check_nothing_is_trained_and_nothing_says_it_was_cut():
    # the same lopsided line-up that leaves m2 out of the learns-check above
    plan = make_plan(_probes([0.05, 0.05, 8.0]), budget_s=150, probe_s=5, batch_size=64, amp="none", learns_check=False)
    assert [m.train_steps for m in plan.models] == [0, 0, 0] and plan.cuts() == [] and plan.steps == 0
    assert all("train" not in m.estimate_s for m in plan.models)
    assert "no learns-check (cost and speed only)" in " ".join(plan.describe())
    config = compare_module.CompareConfig(learns_check=False)
    assert compare_module.phases_for(config) == ("cost", "speed")
    from convzoo.report.table import columns

    keys = [key for key, _ in columns({"rows": [], "config": {"learns_check": False}})]
    assert "learns" not in keys and "latency_b1_ms" in keys
    assert "learns" in [key for key, _ in columns({"rows": [], "config": {}})]  # older results: the column stays


def test_a_budget_below_the_cost_columns_says_it_cannot_be_met_and_what_would():
    probes = {f"m{i}": Probe(build_s=2.0, forward_b1_s=1.0, train_step_s=0.1) for i in range(4)}  # cost ~5.5 s each
    with pytest.raises(OptionError, match=r"--budget 0.25 cannot be met on this machine: probing the 4 models took "
                       r"10 s and measuring their cost needs ~22 s more; give --budget 0.9 or more"):  # fmt: skip
        make_plan(probes, budget_s=15, probe_s=10, batch_size=64, amp="none")
    make_plan(probes, budget_s=0.9 * 60, probe_s=10, batch_size=64, amp="none")  # the budget it named is enough


def test_a_probe_that_outruns_the_budget_stops_and_says_so(tmp_path, monkeypatch, capsys):
    def slow_probe(*args, **kwargs):
        time.sleep(0.7)  # over the whole 0.6 s budget after one model
        return Probe(build_s=0.01, forward_b1_s=0.01, train_step_s=0.01)

    monkeypatch.setattr(compare_module, "probe_model", slow_probe)
    out = tmp_path / "report"
    began = time.perf_counter()
    assert main(["compare", *CHEAP, "mobilenet_v3_large", "--budget", "0.01", "--out", str(out)]) == 2
    assert time.perf_counter() - began < 5  # before: every model probed, then every cost measured, over budget
    err = capsys.readouterr().err
    assert "--budget 0.01 cannot be met on this machine: probing 1 of the 3 models took" in err
    assert not (out / "state.json").exists()  # nothing to resume: a rerun with a larger budget starts afresh


def test_learns_needs_three_standard_errors_above_chance_and_a_falling_loss():
    # 1000 test images, 10 classes: chance 10%, standard error 0.95 points, threshold 12.85%
    assert learns(0.13, 1000, 10, 2.3, 2.0)
    assert not learns(0.128, 1000, 10, 2.3, 2.0)
    assert not learns(0.5, 1000, 10, 2.0, 2.1)


def _results(out):
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_a_stopped_comparison_leaves_a_partial_report_and_resume_completes_it(tmp_path, capsys):
    out = tmp_path / "report"
    command = [sys.executable, "-m", "convzoo", "compare", *CHEAP, "--budget", "3", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    state = out / "state.json"
    deadline = time.monotonic() + 120
    while not (state.exists() and json.loads(state.read_text())["plan"]):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "Traceback" not in stderr and "--resume" in stdout
    assert "PARTIAL REPORT: stopped by SIGTERM" in (out / "report.md").read_text()
    assert _results(out)["partial"].startswith("stopped by SIGTERM")

    assert main(["compare", "--resume", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "budget 3.0 min" in printed and "learns here" in printed
    results = _results(out)
    assert (
        results["partial"] is None and results["seconds"] <= 1.3 * 180
    )  # both parts; +30% for the other test worker's load
    for row in results["rows"]:
        assert row["params"] > 0 and row["gmacs"] > 0 and row["activation_mib"] > 0
        assert row["latency_b1_ms"] > 0 and row["throughput_b16_optimized"] > 0
        # the learns-check ran with the planned steps, or was left out with its reason (a loaded machine)
        assert row.get("train_steps") == results["plan"]["steps"] >= 20 or "left out" in row["skipped"]["train"], row
    assert any("learns" in row for row in results["rows"])
    markdown = (out / "report.md").read_text()
    assert "not distinguishable by accuracy" in markdown and "PARTIAL" not in markdown
    # both have published weights and were timed: the report opens with their frontier, then its plot
    assert markdown.splitlines()[2].startswith("On this machine (") and "![top1_vs_latency]" in markdown
    assert all(row["published"]["top1"] > 50 for row in results["rows"])
    assert results["frontier"]["latency"] and set(results["frontier"]["latency"]) <= set(CHEAP)
    assert all(
        row["optimized_dtype"] == ("bf16" if results["plan"]["amp"] == "bf16" else "fp32") for row in results["rows"]
    )
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "<table>" in html
    assert main(["compare", "--resume", "--out", str(tmp_path / "none")]) == 2  # nothing to resume: one line
    assert main(["compare", *CHEAP, "--out", str(out)]) == 2  # never overwrites an earlier comparison


def _fixed_probe(monkeypatch):
    """The plan (whether the speed and learns phases run) must not depend on how loaded the machine is."""
    probe = Probe(build_s=0.01, forward_b1_s=0.01, train_step_s=0.01)
    monkeypatch.setattr(compare_module, "probe_model", lambda *args, **kwargs: probe)


def test_a_failing_phase_is_reported_in_its_row(tmp_path, monkeypatch):
    def out_of_memory(name, *args):
        if name == CHEAP[0]:
            raise RuntimeError("out of memory (simulated)")
        return {"train_steps": 1, "learns": True, "test_top1": 0.5, "loss_first": 2.3, "loss_last": 1.0}

    monkeypatch.setattr(compare_module, "measure_training", out_of_memory)
    monkeypatch.setattr(compare_module, "measure_speed", lambda name, *args: {"latency_b1_ms": 1.0})
    _fixed_probe(monkeypatch)
    out = tmp_path / "report"
    assert main(["compare", *CHEAP, "--budget", "2", "--out", str(out)]) == 0
    rows = {row["model"]: row for row in _results(out)["rows"]}
    assert "out of memory" in rows[CHEAP[0]]["errors"]["train"] and rows[CHEAP[1]]["learns"] is True
    assert "train failed: RuntimeError: out of memory" in (out / "report.md").read_text()


def test_a_stop_inside_a_phase_keeps_the_finished_phases(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(
        compare_module, "measure_cost", lambda name, *args: calls.append(name) or {"params": 1, "gmacs": 0.1}
    )
    monkeypatch.setattr(
        compare_module,
        "measure_training",
        lambda *a: {"learns": True, "test_top1": 0.5, "loss_first": 2.3, "loss_last": 1.0},
    )

    def stopped(name, *args):
        raise StopSignal(signal.SIGINT)

    monkeypatch.setattr(compare_module, "measure_speed", stopped)
    _fixed_probe(monkeypatch)
    out = tmp_path / "report"
    assert main(["compare", *CHEAP, "--budget", "2", "--out", str(out)]) == 130
    # phase by phase: every cost column was finished before the speed phase was stopped
    assert calls == CHEAP and json.loads((out / "state.json").read_text())["done"] == {name: ["cost"] for name in CHEAP}
    monkeypatch.setattr(compare_module, "measure_speed", lambda name, *args: {"latency_b1_ms": 1.0})
    assert main(["compare", "--resume", "--out", str(out)]) == 0
    assert calls == CHEAP  # the finished phases were not redone
    assert all(row.get("latency_b1_ms") == 1.0 for row in _results(out)["rows"])


def test_unknown_model_fails_before_any_work(tmp_path, capsys):
    assert main(["compare", "resnet50", "resnet51", "--out", str(tmp_path / "x")]) == 2
    assert "resnet51" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_full_runs_rank_only_what_every_seed_supports(tmp_path):
    from convzoo.report.full_runs import load_runs, ranked_pairs, ranking_sentence

    runs = [
        ("a", 0, 0.93),
        ("a", 1, 0.94),
        ("b", 0, 0.91),
        ("b", 1, 0.92),
        ("c", 0, 0.915),
        ("c", 1, 0.935),
        ("d", 0, 0.99),
    ]
    path = tmp_path / "full.json"
    path.write_text(
        json.dumps(
            {
                "runs": [
                    {"model": m, "seed": s, "epochs": 10, "device": "cpu (AVX2)", "test_top1": t} for m, s, t in runs
                ]
            }
        )
    )
    loaded = load_runs(path)
    # a beats b on every seed; c overlaps both; d has one seed, so its 0.99 ranks nothing
    assert ranked_pairs(loaded) == [("a", "b")]
    sentence = ranking_sentence(loaded)
    assert "a > b" in sentence and "d: one seed each" in sentence
    assert loaded["a"].cell() == "93.5% (2 seeds 93.0–94.0, 10 ep, cpu (AVX2))"
    assert ranking_sentence({}).startswith("No full-training run is recorded yet")
