# SPDX-License-Identifier: MIT
"""The lecture's lab: every experiment runs in --quick mode; its results have the structure and invariants that hold
at any scale (the verdicts need the default budgets: docs/experiments/)."""

import json
import math

import pytest

from convzoo import experiments
from convzoo.cli import main


def _run(name, tmp_path):
    report = experiments.run(name, out=tmp_path / name, quick=True)
    record = json.loads((tmp_path / name / "results.json").read_text())
    assert record["experiment"] == name and record["quick"] and record["held"] is None  # quick runs decide nothing
    assert "(quick mode: too short to judge the claim)" in report.read_text() and record["provenance"]["environment"]
    if "parts" in record:  # the headline counts the parts, none of them decided
        assert record["tally"]["undecided"] == len(
            record["parts"]
        ) and "**At this scale, of the claim's parts: 0 of" in (report.read_text())
    for plot in record["results"]["plots"]:
        assert (tmp_path / name / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({plot})" in report.read_text()
    return record["results"]


def test_filters(tmp_path):
    results = _run("filters", tmp_path)
    # least squares from a random start: the kernel error falls
    for name, final in results["final_relative_kernel_error"].items():
        assert 0 <= final < results["initial_relative_kernel_error"][name], name
    assert len(results["learned_kernels"]["sobel_x"]) == 3 and 0 <= results["test_accuracy"] <= 1


def _parts(tmp_path, name):
    record = json.loads((tmp_path / name / "results.json").read_text())
    assert record["parts"] and all(part["verdict"] == "undecided" for part in record["parts"])  # quick decides nothing
    assert all(set(part) == {"name", "claim", "verdict", "evidence", "numbers"} for part in record["parts"])
    return {part["name"]: part for part in record["parts"]}


def test_gradients(tmp_path):
    results = _run("gradients", tmp_path)
    parts = _parts(tmp_path, "gradients")
    assert {"vanishes at init", "deeper vanishes more", "He init keeps it at init", "too-high lr fails to train",
            "clipping tames it", "clipping, not a smaller step"} <= set(parts)  # fmt: skip
    # the vanishing is measured on PyTorch's default init, untrained: every net, every seed, its own profile
    assert {(run["label"], run["init"], run["seed"]) for run in results["at_init"]} == {
        (label, "PyTorch default init", seed)
        for label in ("plain-20", "plain-56", "plain-56 + BN", "ResNet-56")
        for seed in (0, 1)
    }
    default56 = next(r for r in results["at_init"] if r["label"] == "plain-56" and r["seed"] == 0)["gradient_norms"]
    he56 = next(r for r in results["runs"] if r["label"] == "plain-56" and r["seed"] == 0)
    assert (
        default56[0] / default56[-1]
        < 1e-6
        < he56["gradient_norms"]["initialization"][0] / he56["gradient_norms"]["initialization"][-1]
    )  # the two inits differ by orders of magnitude at the input side (measured: 1e-23 against 6e-2 at 16 px)
    runs = results["runs"]
    assert {(run["label"], run["seed"]) for run in runs} == {
        (label, seed) for label in ("plain-20", "plain-56", "plain-56 + BN", "ResNet-56") for seed in (0, 1)
    }
    for run in runs:
        depth = 20 if run["label"] == "plain-20" else 56
        assert run["depths"] == [1 + 2 * i for i in range((depth - 2) // 2 + 1)]  # the stem, then every block
        for moment in ("initialization", "after training"):
            norms = run["gradient_norms"][moment]
            assert len(norms) == len(run["depths"]) and all(math.isfinite(n) and n > 0 for n in norms), run["label"]
        assert len(run["loss_curve"]) == results["recipe"]["steps"] == len(run["grad_norm_curve"])
    for run in results["exploding"]:
        assert run["lr"] == 10 * results["recipe"]["lr"] and len(run["grad_norm_curve"]) == len(run["loss_curve"])
        if run["clip_norm"] is not None:
            fired = [n for n in run["grad_norm_curve"] if n > run["clip_norm"]]
            assert run["clipped_steps"] == len(fired)
            # the control trains without clipping at the clipped run's mean step: its schedule scaled so that the mean
            # of lr_t equals the clipped run's mean of lr_t × min(1, clip ÷ norm_t)
            steps = list(zip(run["lr_curve"], run["grad_norm_curve"], strict=True))
            factor = sum(lr * min(1.0, run["clip_norm"] / n) for lr, n in steps) / sum(lr for lr, _ in steps)
            control = next(c for c in results["controls"] if c["control_of_seed"] == run["seed"])
            assert control["lr"] == pytest.approx(run["lr"] * factor) and control["clip_norm"] is None
    assert sorted(c["control_of_seed"] for c in results["controls"]) == [0, 1]
    # the clipping threshold is the 90th percentile of the plain-20 runs' norms (numpy's, computed independently)
    import numpy

    plain20 = [n for r in runs if r["label"] == "plain-20" for n in r["grad_norm_curve"]]
    assert results["clip_threshold"] == pytest.approx(float(numpy.percentile(plain20, 90)))
    for run in runs:
        assert 0 <= run["dead_fraction"] <= 1

    # recomputed here: the back-propagated gradient at the last block's output, by hand, in float64
    import torch
    import torch.nn.functional as F

    from convzoo.experiments.gradients import block_gradient_norms, build
    from convzoo.experiments.lab import fashion_mnist_sample
    from convzoo.training.short_run import resized

    data = fashion_mnist_sample()
    torch.manual_seed(0)
    model = build("plain-20")
    images, labels = resized(data.train_images[:16], results["image_size"]).double(), data.train_labels[:16]
    norms = block_gradient_norms(model, images, labels)
    assert norms == pytest.approx(
        next(r for r in runs if r["label"] == "plain-20" and r["seed"] == 0)["gradient_norms"]["initialization"],
        rel=1e-9,
    )
    twin = model.double().train()
    features = twin.stage3(twin.stage2(twin.stage1(twin.stem(images))))
    features.retain_grad()
    F.cross_entropy(twin.head(features), labels).backward()
    assert norms[-1] == pytest.approx(features.grad.norm().item(), rel=1e-9)


def test_degradation(tmp_path):
    results = _run("degradation", tmp_path)
    parts = _parts(tmp_path, "degradation")
    assert list(parts) == [
        "deeper plain trains worse",
        "residual depth penalty much smaller",
        "deeper residual at least as good",
        "~1000 layers train",
    ]
    assert [(r["name"], r["seed"]) for r in results["runs"]] == [
        (f"cifar_{k}{d}", s) for k in ("plain", "resnet") for d in (20, 56) for s in (0, 1)
    ]
    for run in results["runs"]:
        assert len(run["error_curve"]) == results["recipe"]["steps"]
        assert 0 <= run["training_set"]["error"] <= 1 and 0 <= run["test_error"] <= 1
    assert results["image_size"] == 16 and results["epochs"] > 0
    assert len(results["very_deep"]["loss_curve"]) == results["very_deep"]["recipe"]["steps"]
    report = (tmp_path / "degradation" / "report.md").read_text()
    assert "| deeper plain trains worse |" in report and "epochs" in report and "seeds [0, 1]" in report


def test_bottleneck_module_costs_equal_hand_arithmetic(tmp_path):
    results = _run("bottleneck", tmp_path)
    parts = _parts(tmp_path, "bottleneck")
    assert list(parts) == [
        "reductions cut the module's cost",
        "reductions make a step faster",
        "reductions keep the accuracy",
        "GAP removes the head's parameters",
        "an FC head widens the train–test gap",
    ]
    cost = results["cost"]
    hw = 7 * 7  # inception (3a) at 7x7: in 192; 1x1 64; 3x3 reduce 96 -> 128; 5x5 reduce 16 -> 32; pool proj 32
    naive = hw * 192 * (64 + 128 * 9 + 32 * 25)
    reduced = hw * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32)
    assert cost["naive module + GAP"]["module_macs"] == naive == 18_966_528
    assert cost["1×1 reductions + GAP"]["module_macs"] == cost["1×1 reductions + FC head"]["module_macs"] == reduced
    fc, gap = cost["1×1 reductions + FC head"], cost["1×1 reductions + GAP"]
    assert fc["params"] - gap["params"] == (256 * 49 * 256 + 256 + 256 * 10 + 10) - (256 * 10 + 10)
    assert results["inception_3a"]["ch3x3_reduce"] == 96  # GoogLeNet's own table row, not a copy
    for block in (results["parity"], results["head"]):
        assert results["seeds"] == [0, 1, 2] and block["epochs"] > 0
        for arm in block["arms"].values():
            assert len(arm["test_accuracy"]) == len(arm["train_accuracy"]) == len(arm["step_seconds"]) == 3
            assert len(arm["correct_per_image"]) == block["evaluation_images"]
            hits = sum(arm["correct_per_image"]) / (3 * block["evaluation_images"])
            assert hits == pytest.approx(sum(arm["test_accuracy"]) / 3)  # the per-image counts are the accuracies
    report = (tmp_path / "bottleneck" / "report.md").read_text()
    assert "epochs" in report and "training images" in report and "seeds [0, 1, 2]" in report


def test_scaling_arms_are_built_within_ten_percent_of_their_mac_target(tmp_path):
    results = _run("scaling", tmp_path)
    parts = _parts(tmp_path, "scaling")
    assert list(parts) == ["compound beats width only", "compound beats depth only", "compound beats resolution only"]
    arms = {arm["kind"]: arm for arm in results["arms"]}
    base = arms["base"]
    assert base["size"] == 14 and base["blocks"] == 3 and arms["resolution"]["size"] == 28  # real detail up to 28 px
    for arm in arms.values():
        assert abs(arm["macs"] / (arm["target"] * base["macs"]) - 1) <= 0.1, arm
        assert len(arm["accuracy"]) == 3 and len(arm["correct_per_image"]) == results["evaluation_images"]
    assert arms["compound"]["blocks"] > base["blocks"] and arms["compound"]["channels"] != base["channels"]
    assert arms["depth"]["blocks"] > 3 * base["blocks"] and arms["width"]["channels"][0] > 8
    for triple in results["grid"]["triples"]:  # --quick runs a part of the grid search: its structure
        assert triple["alpha"] * triple["beta"] ** 2 * triple["gamma"] ** 2 == pytest.approx(2, rel=0.01)
        assert {"blocks", "channels", "size", "macs", "phi"} <= set(triple)
    report = (tmp_path / "scaling" / "report.md").read_text()
    assert "| resolution | 3.64× |" in report and "epochs" in report


def test_scaling_grid_trains_each_built_net_once_and_lists_triples_off_target(tmp_path):
    from convzoo.experiments import heldout, scaling
    from convzoo.experiments.lab import Lab, fashion_mnist_sample
    from convzoo.experiments.scaling_arms import point
    from convzoo.training.short_run import Recipe

    lab = Lab("scaling", tmp_path, 0.5, True)
    data, *evaluation = heldout.split(fashion_mnist_sample(), 200, 200)
    same, twin, off = (1.2, 1.0, 1.291), (1.4, 1.0, 1.195), (1.0, 1.2, 1.179)  # round(3·1.2) = round(3·1.4) = 4
    grid = scaling.measure_grid(
        lab, [same, twin, off], point()["macs"], data, Recipe(steps=2, batch_size=8), evaluation
    )
    first, second, third = grid["triples"]
    assert (first["blocks"], first["channels"], first["size"]) == (second["blocks"], second["channels"], second["size"])
    assert first["accuracy"] == second["accuracy"] and len(first["accuracy"]) == 3  # trained once, three seeds
    assert (second["alpha"], second["gamma"]) == (1.4, 1.195)  # each row says which triple it is
    assert third["off_target"] and "accuracy" not in third  # +14% of its MACs target: listed, not trained
    assert abs(first["macs"] / (2 * point()["macs"]) - 1) <= 0.1


def test_experiment_cli_prints_the_parts_from_the_record():
    from convzoo.cli.experiment import verdict_lines

    record = {
        "experiment": "x",
        "quick": False,
        "held": None,
        "verdict": "",
        "parts": [
            {"name": "a", "claim": "c", "verdict": "held", "evidence": "1 < 2", "numbers": {}},
            {"name": "b", "claim": "c", "verdict": "undecided", "evidence": "one seed", "numbers": {}},
        ],
    }
    lines = verdict_lines(record)
    assert lines[0] == "x: 1 of 2 held, 1 undecided" and "held" in lines[1] and "a: 1 < 2" in lines[1]
    old = {"experiment": "y", "quick": False, "held": False, "verdict": "plain-56 worse."}  # a record without parts
    assert verdict_lines(old) == ["y: the claim did not hold", "  plain-56 worse."]


def test_readme_lab_table_lists_parts_and_reads_old_records(tmp_path):
    from convzoo.experiments import NAMES
    from tools.docs.readme_figures import readme_lab

    cpu = {"provenance": {"environment": {"cpu": {"label": "AVX2"}}}, "wall_seconds": 60, "claim": "c"}
    for name in NAMES:
        (tmp_path / "docs" / "experiments" / name).mkdir(parents=True)
        record = {**cpu, "held": None}
        if name == "gradients":
            record["parts"] = [{"name": "vanishes at init", "verdict": "did not hold"}]
        (tmp_path / "docs" / "experiments" / name / "results.json").write_text(json.dumps(record))
    table = readme_lab(tmp_path)
    assert "**0 of 1 held, 1 did not hold**<br>vanishes at init: did not hold" in table
    assert table.count("**undecided**") == len(NAMES) - 1  # the records without parts: their one verdict


def test_experiment_cli(capsys):
    assert main(["experiment", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in experiments.NAMES)
    assert main(["experiment", "nonsense"]) == 2
    assert "unknown experiment 'nonsense'" in capsys.readouterr().err


def test_a_longer_run_shows_which_parts_moved(tmp_path):
    from convzoo.experiments import NAMES
    from tools.docs.lab_figures import budget_moves
    from tools.docs.readme_figures import readme_lab

    def record(minutes, verdicts, epochs):
        return {
            "provenance": {"environment": {"cpu": {"label": "AVX2"}, "threads": 1}},
            "wall_seconds": 60 * minutes,
            "budget_minutes": minutes,
            "claim": "c",
            "held": None,
            "results": {"epochs": epochs, "recipe": {"steps": int(epochs * 40)}},
            "parts": [{"name": n, "verdict": v, "evidence": f"{n} at {minutes}"} for n, v in verdicts.items()],
        }

    for name in NAMES:
        (tmp_path / "docs" / "experiments" / name).mkdir(parents=True)
        default = record(14, {"plain worse": "held", "deeper residual": "undecided"}, 20)
        (tmp_path / "docs" / "experiments" / name / "results.json").write_text(json.dumps(default))
    longer = tmp_path / "docs" / "experiments" / "degradation" / "budget-60"
    longer.mkdir()
    (longer / "results.json").write_text(json.dumps(record(60, {"plain worse": "held", "deeper residual": "held"}, 90)))
    table = readme_lab(tmp_path)
    assert table.count("--budget 60") == 1 and "deeper residual: undecided → held" in table
    assert "60.0 min, 1 thread<br>" in table
    assert "plain worse: held → held" not in table  # only what moved
    moves = budget_moves(tmp_path)
    assert moves.startswith("`degradation`")
    assert "budget 60 min (60.0 min wall, 3600 steps = 90.0 epochs; AVX2, 1 thread)" in moves
    assert "**undecided**: deeper residual at 14" in moves and "**held**: deeper residual at 60" in moves


def test_the_gradient_experiments_two_initializations_and_dead_units():
    import torch
    from torch import nn

    from convzoo.experiments.gradient_flow import DEFAULT_INIT, HE_INIT, build, dead_fraction

    torch.manual_seed(0)
    for init, variance in ((DEFAULT_INIT, lambda fan_in: 1 / (3 * fan_in)), (HE_INIT, lambda fan_in: 2 / fan_in)):
        convs = [m for m in build("plain-56", init).modules() if isinstance(m, nn.Conv2d)]
        for conv in convs[1:]:  # Kaiming-uniform(a=√5) has variance 1/(3·fan_in); Kaiming-normal fan-in 2/fan_in
            fan_in = conv.weight[0].numel()
            assert conv.weight.var().item() == pytest.approx(variance(fan_in), rel=0.15), (init, fan_in)

    # a channel no image turns on is dead: two of four, by their biases
    net = nn.Sequential(nn.Conv2d(1, 4, 1), nn.ReLU())
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.copy_(torch.tensor([1.0, -1.0, 0.5, 0.0]))
    assert dead_fraction(net, torch.randn(3, 1, 4, 4)) == 0.5


def test_bottleneck_cost_scope_needs_no_training_and_unknown_scopes_are_one_line(tmp_path, capsys):
    experiments.run("bottleneck", out=tmp_path / "cost", quick=True, scope="cost")
    record = json.loads((tmp_path / "cost" / "results.json").read_text())
    assert record["scope"] == "cost" and "without costing accuracy" not in record["claim"]  # only what it tested
    assert [p["name"] for p in record["parts"]] == [
        "reductions cut the module's cost",
        "reductions make a step faster",
        "GAP removes the head's parameters",
    ]
    results = record["results"]
    # the cost model against the convolutions' own arithmetic (C_in·C_out·k²·H·W at 7×7, GoogLeNet's 3a channels):
    # naive 1×1 64, 3×3 128, 5×5 32 straight on 192 channels; reduced adds 1×1s to 96 and 16 first, and after the pool
    naive, reduced = results["cost"]["naive module + GAP"], results["cost"]["1×1 reductions + GAP"]
    assert naive["module_macs"] == 49 * (192 * 64 + 192 * 128 * 9 + 192 * 32 * 25)
    assert reduced["module_macs"] == 49 * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32)
    assert {label: len(times) for label, times in results["step_seconds"].items()} == {
        "1×1 reductions + GAP": 3,
        "naive module + GAP": 3,
    }
    assert (tmp_path / "cost" / "cost.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["experiment", "gradients", "--scope", "cost", "--out", str(tmp_path / "g")]) == 2
    assert "experiment 'gradients' has no scope 'cost' (its scopes: none: it runs whole)" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()  # refused before the folder was made


def test_the_kernel_fit_takes_its_full_steps_unless_half_the_budget_cannot_pay_for_them(tmp_path):
    from convzoo.experiments.filters import FIT_STEPS, KERNEL_IMAGES, MIN_FIT_STEPS, planned_fit_steps
    from convzoo.experiments.lab import Lab, fashion_mnist_sample

    images = fashion_mnist_sample().train_images[:KERNEL_IMAGES]
    assert planned_fit_steps(Lab("filters", tmp_path, 60.0, False), images) == FIT_STEPS
    assert planned_fit_steps(Lab("filters", tmp_path, 0.01, False), images) == MIN_FIT_STEPS  # 0.6 s: the floor
