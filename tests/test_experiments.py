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
    assert "could not be decided" in report.read_text() and record["provenance"]["environment"]
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


def test_gradients(tmp_path):
    results = _run("gradients", tmp_path)
    runs = results["runs"]
    for label, run in runs.items():
        for moment in ("initialization", "after training"):
            norms = run["gradient_norms"][moment]
            assert len(norms) == 56, label  # 55 convolutions and the classifier, input side first
        assert len(run["loss_curve"]) == results["recipe"]["steps"]
    he_init = runs["plain-56"]["gradient_norms"]["initialization"]
    assert all(math.isfinite(n) and n > 0 for n in he_init)
    # gradients are recorded before clipping, so the same initialization gives the same norms
    assert runs["plain-56 + clipping"]["gradient_norms"]["initialization"] == he_init
    # recomputed here: the first step's batch through the same initialization, stem first, classifier last
    import torch
    import torch.nn.functional as F

    from convzoo.experiments.gradients import build
    from convzoo.experiments.lab import fashion_mnist_sample

    data = fashion_mnist_sample()
    torch.manual_seed(0)
    model = build("plain-56").train()
    batch = results["recipe"]["batch_size"]
    index = torch.randint(0, len(data.train_labels), (batch,), generator=torch.Generator().manual_seed(0))
    F.cross_entropy(model(data.train_images[index]), data.train_labels[index]).backward()
    assert he_init[0] == pytest.approx(model.stem[0].weight.grad.norm().item(), rel=1e-4)
    assert he_init[-1] == pytest.approx(model.head.fc.weight.grad.norm().item(), rel=1e-4)


def test_degradation(tmp_path):
    results = _run("degradation", tmp_path)
    assert list(results["runs"]) == [f"cifar_{k}{d}" for k in ("plain", "resnet") for d in (20, 32, 56)]
    for run in results["runs"].values():
        assert len(run["error_curve"]) == results["recipe"]["steps"]
        assert all(0 <= e <= 1 for e in run["error_curve"]) and 0 <= run["test_error"] <= 1
    assert len(results["very_deep"]["loss_curve"]) == results["very_deep"]["steps"]


def test_bottleneck_module_costs_equal_hand_arithmetic(tmp_path):
    results = _run("bottleneck", tmp_path)
    rows = results["rows"]
    hw = 14 * 14  # inception (3a) at 14x14: in 192; 1x1 64; 3x3 reduce 96 -> 128; 5x5 reduce 16 -> 32; pool proj 32
    naive = hw * 192 * (64 + 128 * 9 + 32 * 25)
    reduced = hw * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32)
    assert rows["naive module + GAP"]["module_macs"] == naive == 75_866_112
    assert rows["1×1 reductions + GAP"]["module_macs"] == rows["1×1 reductions + FC head"]["module_macs"] == reduced
    fc, gap = rows["1×1 reductions + FC head"], rows["1×1 reductions + GAP"]
    assert fc["params"] - gap["params"] == (256 * 49 * 256 + 256 + 256 * 10 + 10) - (256 * 10 + 10)


def test_scaling_points_match_their_mac_budgets(tmp_path):
    results = _run("scaling", tmp_path)
    base = next(p for p in results["points"] if p["kind"] == "base")
    for point in results["points"]:
        if point["kind"] in ("width", "resolution", "compound"):
            assert abs(point["macs"] / (point["target"] * base["macs"]) - 1) < 0.1, point
    for triple in results["grid"]:
        assert triple["alpha"] * triple["beta"] ** 2 * triple["gamma"] ** 2 == pytest.approx(2, rel=0.01)


def test_experiment_cli(capsys):
    assert main(["experiment", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in experiments.NAMES)
    assert main(["experiment", "nonsense"]) == 2
    assert "unknown experiment 'nonsense'" in capsys.readouterr().err
