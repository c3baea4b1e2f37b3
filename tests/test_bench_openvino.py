# SPDX-License-Identifier: MIT
"""OpenVINO as a speed reference: it runs our model's ONNX export, and only a run that agrees with PyTorch is timed."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from convzoo import create_model
from convzoo.bench import openvino as ov_bench
from convzoo.cli import main


@pytest.fixture(scope="module")
def model_and_input():
    torch.manual_seed(0)
    return create_model("resnet18", num_classes=10).eval(), torch.randn(2, 3, 64, 64)


def test_openvino_runs_the_model_with_pytorchs_outputs(model_and_input):
    model, x = model_and_input
    run = ov_bench.openvino_runner(model, x)
    outputs = next(iter(run.call().values()))  # the infer request's results, keyed by output
    with torch.no_grad():
        expected = model(x).numpy()
    assert outputs.shape == expected.shape == (2, 10)
    np.testing.assert_allclose(outputs, expected, rtol=0, atol=1e-4 * max(1.0, np.abs(expected).max()))


def test_an_export_that_computes_something_else_is_not_timed(model_and_input, monkeypatch):
    model, x = model_and_input
    other = copy.deepcopy(model)  # same graph, weights moved by 0.01 (the suite seeds every test alike)
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.add_(0.01)
    real_export = ov_bench.export
    monkeypatch.setattr(ov_bench, "export", lambda _model, *args: real_export(other, *args))
    with pytest.raises(ov_bench.OptionError, match="differs from PyTorch"):
        ov_bench.openvino_runner(model, x)


def test_agreement_bounds_by_precision():
    expected = torch.tensor([[20.0, -4.0]])
    # fp32: 1e-4 x the largest |logit| past 1 (2e-3 here); bf16: optimize()'s 0.1 x the largest |logit| (2.0)
    assert ov_bench.agrees(np.array([[20.0019, -4.0]]), expected, "fp32")[0]
    assert not ov_bench.agrees(np.array([[20.0021, -4.0]]), expected, "fp32")[0]
    assert ov_bench.agrees(np.array([[21.9, -4.0]]), expected, "bf16")[0]
    assert not ov_bench.agrees(np.array([[22.1, -4.0]]), expected, "bf16")[0]


def test_bf16_is_refused_where_openvino_would_fall_back_to_f32(model_and_input, monkeypatch):
    monkeypatch.setattr(ov_bench, "native_precisions", lambda: {"fp32"})
    with pytest.raises(ov_bench.OptionError, match="does not run OpenVINO's bf16 natively"):
        ov_bench.openvino_runner(*model_and_input, dtype="bf16")


def test_bench_against_openvino_and_onnxruntime_in_one_interleaved_run(capsys):
    argv = ["bench", "mobilenet_v3_small", "--batch", "2", "--size", "64", "--repeats", "3", "--no-memory"]
    assert main([*argv, "--against", "openvino,onnxruntime", "--format", "json"]) == 0
    ours, openvino_row, onnxruntime_row = json.loads(capsys.readouterr().out)
    import openvino

    assert openvino_row["impl"] == f"openvino {openvino.__version__.split('-')[0]}"
    assert (openvino_row["dtype"], onnxruntime_row["dtype"], openvino_row["ratio"]) == ("fp32", "fp32", 1.0)
    for row in (ours, onnxruntime_row):  # speed over OpenVINO's, from the same interleaved medians
        assert row["ratio"] == pytest.approx(openvino_row["latency_ms"] / row["latency_ms"], rel=0.02)
    # each row says how far its outputs were from eager PyTorch's: ours is the original; the engines were checked
    assert ours["max_relative_difference"] == 0.0
    assert 0 < openvino_row["max_relative_difference"] < 1e-4
    assert 0 < onnxruntime_row["max_relative_difference"] < 1e-4
    assert main(["bench", "resnet18", "--mode", "train", "--against", "openvino"]) == 2
    assert "--against openvino times CPU inference" in capsys.readouterr().err
