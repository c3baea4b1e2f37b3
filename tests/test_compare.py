# SPDX-License-Identifier: MIT
"""`convzoo compare`: the budget plan, the learns-check, a failing model, and stop + resume."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from convzoo.budget import Budget
from convzoo.cli import main
from convzoo.compare import comparison as compare_module
from convzoo.compare.measure import learns
from convzoo.compare.plan import MAX_STEPS, MIN_STEPS, SAFETY, Probe, make_plan
from convzoo.errors import OptionError
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
    from convzoo.report.columns import columns

    keys = [key for key, _ in columns({"rows": [], "config": {"learns_check": False}})]
    assert "learns" not in keys and "latency_b1_ms" in keys
    assert "learns" in [key for key, _ in columns({"rows": [], "config": {}})]  # older results: the column stays


def test_a_budget_below_the_cost_columns_says_it_cannot_be_met_and_what_would():
    probes = {f"m{i}": Probe(build_s=2.0, forward_b1_s=1.0, train_step_s=0.1) for i in range(4)}  # cost ~5.5 s each
    with pytest.raises(OptionError, match=r"--budget 0.25 cannot be met on this machine: probing the 4 models took "
                       r"10 s and measuring their cost needs ~22 s more; give --budget 0.9 or more"):  # fmt: skip
        make_plan(probes, budget_s=15, probe_s=10, batch_size=64, amp="none")
    make_plan(probes, budget_s=0.9 * 60, probe_s=10, batch_size=64, amp="none")  # the budget it named is enough


def test_a_budget_the_cost_columns_fit_is_planned_not_refused():
    # probe 10 s + cost 4 × 5.5 s = 32 s of a 35-s budget: over the planning margin (0.9 × 25 − 15 = 7.5 s), not
    # over the budget, so the plan cuts every speed column and keeps the cost columns instead of refusing
    probes = {f"m{i}": Probe(build_s=2.0, forward_b1_s=1.0, train_step_s=0.1) for i in range(4)}
    try:
        plan = make_plan(probes, budget_s=35, probe_s=10, batch_size=64, amp="none")
    except OptionError as error:
        pytest.fail(f"a budget the probe and the cost columns fit was refused: {error}")
    assert not any(m.speed for m in plan.models) and all("speed left out" in m.reason for m in plan.models)
    assert [m.estimate_s["cost"] for m in plan.models] == [5.5] * 4 and plan.steps == 0


def test_a_model_published_at_another_size_is_planned_at_that_size_too():
    # m0 published at 448 px, (448 / 224)² = 4× the pixels: its cost profile runs at 224 and again at 448,
    # 2 + 3.5 × 1 × (1 + 4) = 19.5 s (m1: 2 + 3.5 = 5.5 s); its speed adds 3 batch-1 forwards at 448 to the 224
    # ones, 3 × 1 + 3 × 16 + 2 × 16 + 3 × 16 = 131 s, + 3 × 4 = 143 s
    probes = {f"m{i}": Probe(build_s=2.0, forward_b1_s=1.0, train_step_s=0.1) for i in range(2)}
    plan = make_plan(probes, budget_s=1000, probe_s=10, batch_size=64, amp="none", published_px={"m0": 448})
    assert [(m.estimate_s["cost"], m.estimate_s["speed"]) for m in plan.models] == [(19.5, 143.0), (5.5, 131.0)]
    # so a budget is refused with what the published size costs: (10 + 25 + 15) / 0.9 = 55.6 s -> 1 min
    with pytest.raises(OptionError, match=r"measuring their cost needs ~25 s more; give --budget 1 or more"):
        make_plan(probes, budget_s=30, probe_s=10, batch_size=64, amp="none", published_px={"m0": 448})


def test_a_probe_past_the_planning_margin_but_within_the_budget_goes_on(tmp_path):
    config = compare_module.CompareConfig(models=CHEAP, budget_minutes=1.0, out=str(tmp_path / "report"))
    comparison = compare_module.Comparison(config)
    comparison.state["probe"][CHEAP[0]] = {"build_s": 1.0, "forward_b1_s": 1.0, "train_step_s": 1.0}
    try:  # 40 s of the 60: past 0.9 × 60 − 15 = 39 s of planning, the plan's to cut, not hopeless
        comparison._check_probe_fits(40.0)
    except OptionError as error:
        pytest.fail(f"a probe within the budget was refused: {error}")
    with pytest.raises(OptionError, match=r"probing 1 of the 2 models took 61 s already"):
        comparison._check_probe_fits(61.0)


def test_a_model_published_at_another_size_has_its_cost_and_latency_measured_there(tmp_path, monkeypatch):
    sizes = {}

    def cost(name, published_px=224):
        sizes["cost"] = published_px
        return {"params": 1, "gmacs": 1.0, "activation_mib": 1.0, "weights_mib": 1.0} | (
            {"gmacs_published_px": 3.0} if published_px != 224 else {}
        )

    def speed(name, repeats, dtype="fp32", published_px=224):
        sizes["speed"] = published_px
        return {"latency_b1_ms": 1.0} | ({"latency_b1_ms_published_px": 2.9} if published_px != 224 else {})

    monkeypatch.setattr(compare_module, "measure_cost", cost)
    monkeypatch.setattr(compare_module, "measure_speed", speed)
    _fixed_probe(monkeypatch)
    out = tmp_path / "report"
    # EfficientNetV2-S's released weights are evaluated at 384 px only (test_compare_frontier)
    assert main(["compare", "efficientnet_v2_s", "--no-learns-check", "--budget", "2", "--out", str(out)]) == 0
    assert sizes == {"cost": 384, "speed": 384}
    assert "384 px (at 384 px: 3.0 GMACs, latency b1 here 2.9 ms)" in (out / "report.md").read_text()


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


def test_a_comparison_from_python_runs_on_the_callers_clock_and_a_stop_event_returns_partial_results(
    tmp_path, monkeypatch
):
    """The library call the CLI and the demo make: the caller's Budget is the only clock (a fake one here, which
    each piece of work advances by a known amount), and a stop event ends the run between phases with the finished
    rows saved, resumable."""
    import threading

    from convzoo import budget as budget_module
    from convzoo import compare
    from convzoo.compare.plan import REPORT_SECONDS

    clock = [1000.0]

    def fake_now():
        return clock[0]

    def work(seconds, result):
        clock[0] += seconds
        return result

    monkeypatch.setattr(budget_module, "now", fake_now)
    monkeypatch.setattr(compare_module, "now", fake_now)
    probe = Probe(build_s=0.01, forward_b1_s=0.01, train_step_s=0.01)
    monkeypatch.setattr(compare_module, "probe_model", lambda *args, **kwargs: work(2.0, probe))
    monkeypatch.setattr(compare_module, "measure_cost", lambda name, px=224: work(5.0, {"params": len(name)}))
    monkeypatch.setattr(compare_module, "measure_speed", lambda name, *args: work(7.0, {"latency_b1_ms": 1.0}))
    stop, events = threading.Event(), []

    def on_event(event):
        events.append(event)
        if event.kind == "phase" and event.phase == "speed":
            stop.set()  # both costs measured: stop before the first speed phase starts

    config = compare.CompareConfig(models=CHEAP, learns_check=False, out=str(tmp_path / "report"))
    budget = Budget(120, safety=SAFETY, reserve_s=REPORT_SECONDS, started=fake_now())
    results = compare.run(config, budget, on_event, stop=stop)

    assert results.stopped_by == "a stop event" and results.exit_code == 130
    assert results.record["seconds"] == 2 * 2.0 + 2 * 5.0  # two probes and two costs, on the caller's clock only
    assert results.partial == "stopped by a stop event after 0.2 min"
    assert results.record["config"]["budget_minutes"] == 2.0  # the caller's budget, not the config's default 8
    assert [row["params"] for row in results.rows] == [len(name) for name in CHEAP]
    assert all("latency_b1_ms" not in row for row in results.rows)
    assert [(e.kind, e.model, e.phase) for e in events] == [
        ("probe", CHEAP[0], None),
        ("probe", CHEAP[1], None),
        ("plan", None, None),
        ("phase", CHEAP[0], "cost"),
        ("phase", CHEAP[1], "cost"),
        ("phase", CHEAP[0], "speed"),
    ]
    assert [e.done for e in events if e.kind == "phase"] == [0, 1, 2] and events[-1].total == 4

    resumed = compare.run(config, resume=True)  # the saved state, its own clock: 14 s spent of 120
    assert resumed.stopped_by is None and resumed.partial is None
    assert resumed.record["seconds"] == 14.0 + 2 * 7.0
    assert [row["latency_b1_ms"] for row in resumed.rows] == [1.0, 1.0]
