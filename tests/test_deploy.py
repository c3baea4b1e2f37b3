# SPDX-License-Identifier: MIT
"""Optimized inference, export (ONNX round trip through onnxruntime), prediction on real image files, bench."""

import copy
import json

import pytest
import torch

import convzoo
from convzoo import checkpoint as ckpt
from convzoo.cli import main
from convzoo.data import load_dataset
from convzoo.deploy import fold_batch_norms, optimize
from convzoo.deploy.export import export, onnx_agrees, run_onnx
from convzoo.registry import get_entry


def test_batch_norm_folding_keeps_outputs():
    model = convzoo.create_model("resnet18").eval()
    for module in model.modules():  # non-trivial statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        folded = fold_batch_norms(model)
        assert folded == 20 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        assert (model(x) - expected).abs().max() / expected.abs().max() < 1e-5


def _with_batch_statistics(model):
    for module in model.modules():  # non-trivial statistics, so a wrong fold shows
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


# Measured 2026-12-01 on Intel(R) Xeon(R) Processor (amx_tile, avx512_bf16), torch 2.14: fp32 3.7e-7, bf16 0.0056
# (max |difference| / max |original|); bounds ~14x and ~3.5x above, for other CPU kinds' kernels.
@pytest.mark.parametrize("dtype, tolerance", [("fp32", 5e-6), ("bf16", 0.02)])
def test_optimized_outputs_match_the_original_on_other_inputs(dtype, tolerance):
    from convzoo.runtime import cpu_supports_bf16

    if dtype == "bf16" and not cpu_supports_bf16():
        pytest.skip("no native bf16 on this CPU")
    torch.manual_seed(0)
    model = _with_batch_statistics(convzoo.create_model("mobilenet_v2", num_classes=10))
    example, unseen = torch.randn(2, 3, 64, 64), torch.randn(4, 3, 96, 96)
    fast, report = optimize(model, example, dtype=dtype)
    assert report.folded_batch_norms == 52 and report.dtype == dtype and report.channels_last
    with torch.no_grad():
        expected, got = model(unseen), fast(unseen)
        assert got.dtype == torch.float32 and got.is_contiguous()
        difference = ((got - expected).abs().max() / expected.abs().max()).item()
        assert difference < tolerance
        on_example = ((fast(example) - model(example)).abs().max() / model(example).abs().max()).item()
    assert report.max_relative_difference == pytest.approx(on_example, rel=1e-3, abs=1e-7)


def test_optimize_refuses_a_wrong_fold(monkeypatch):
    """Fault injection: a fold that forgets the batch norm's shift must not come back as a fast model."""
    import importlib

    from convzoo.errors import ExportError

    optimize_module = importlib.import_module("convzoo.deploy.optimize")  # the package re-exports the function

    correct_fold = optimize_module.fuse_conv_bn_eval

    def fold_without_shift(conv, norm):
        fused = correct_fold(conv, norm)
        fused.bias.data.zero_()
        return fused

    monkeypatch.setattr(optimize_module, "fuse_conv_bn_eval", fold_without_shift)
    model = _with_batch_statistics(convzoo.create_model("resnet18", num_classes=10))
    with pytest.raises(ExportError, match="differs from the original"):
        optimize(model, torch.randn(2, 3, 64, 64))


def test_optimize_rejects_an_unknown_dtype():
    with pytest.raises(ValueError, match="dtype must be fp32, bf16 or int8, got .int4."):  # OptionError is a ValueError
        optimize(convzoo.create_model("resnet18"), torch.randn(1, 3, 32, 32), dtype="int4")


@pytest.mark.parametrize(
    "name",
    [
        "resnet18",
        "efficientnet_b0",
        "mobilenet_v3_large",
        "convnext_tiny",
        "googlenet",
        "xception",
        "cifar_resnet20",
        "alexnet",
        "regnet_y_400mf",
    ],
)
def test_onnx_round_trip(name, tmp_path):
    model = convzoo.create_model(name, num_classes=10).eval()
    # ONNX's adaptive pooling needs the output size to divide the input size: AlexNet pools to 6x6
    size = 224 if name == "alexnet" else max(get_entry(name).min_input_size, 64)
    path = export(model, torch.randn(2, 3, size, size), "onnx", tmp_path / f"{name}.onnx")
    ok, difference, scale = onnx_agrees(path, model, torch.randn(3, 3, size, size))  # another batch size: dynamic axis
    # Relative to the largest logit, with no absolute floor: random nets' logits range from 1e-14 (EfficientNet-B0)
    # to ~1, so any absolute allowance would pass anything for some of them. Measured 2026-12-01 on Intel(R) Xeon(R)
    # Processor (amx_tile, avx512_bf16), onnxruntime's CPU kernels: at most 1.3e-6 x the largest logit (ConvNeXt-T;
    # 2e-7 to 1.1e-6 for the others); the bound leaves ~8x.
    assert ok and difference <= 1e-5 * scale


def test_onnx_agrees_rejects_a_model_that_changed(tmp_path):
    model = convzoo.create_model("cifar_resnet20", num_classes=10).eval()
    path = export(model, torch.randn(2, 3, 32, 32), "onnx", tmp_path / "m.onnx")
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        shift = 1e-3 * max(1.0, model(images).abs().max().item())  # 10x the tolerance
        model.head.fc.bias[3] += shift  # one logit moves by exactly `shift`
    ok, difference, _ = onnx_agrees(path, model, images)
    assert not ok and difference == pytest.approx(shift, rel=1e-3)


@pytest.mark.parametrize("fmt", ["torchscript", "torch-export"])
def test_other_export_formats_reload(fmt, tmp_path):
    model = convzoo.create_model("cifar_resnet20", num_classes=10).eval()
    path = export(model, torch.randn(2, 3, 32, 32), fmt, tmp_path / "model.pt2")
    x = torch.randn(5, 3, 32, 32)
    loaded = torch.jit.load(str(path)) if fmt == "torchscript" else torch.export.load(str(path)).module()
    with torch.no_grad():
        expected = model(x)
        # measured 2026-12-01 (Intel(R) Xeon(R) Processor, amx_tile, avx512_bf16): exactly 0 for both formats
        assert (loaded(x) - expected).abs().max() <= 1e-6 * expected.abs().max()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy") / "run"
    assert main(["train", "--epochs", "1", "--batch-size", "256", "--no-progress", "--out", str(out)]) == 0
    return out / "last.pt"


def test_export_command_verifies_onnx(checkpoint, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    assert "max abs difference" in capsys.readouterr().out
    metadata = json.loads((tmp_path / "m.onnx.json").read_text())
    assert metadata["classes"][0] == "T-shirt/top" and metadata["input_size"] == [1, 28, 28]
    assert run_onnx(tmp_path / "m.onnx", torch.randn(4, 1, 28, 28)).shape == (4, 10)


def test_export_command_refuses_an_export_that_disagrees(checkpoint, tmp_path, capsys, monkeypatch):
    import convzoo.cli.export as export_command

    def export_a_changed_copy(model, example, fmt, path):  # a faulty exporter: the file is not the model
        changed = copy.deepcopy(model)
        with torch.no_grad():
            next(changed.parameters()).mul_(1.5)
        return export(changed, example, fmt, path)

    monkeypatch.setattr(export_command, "export", export_a_changed_copy)
    argv = ["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "ONNX export differs from PyTorch by" in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_predict_on_real_images_matches_the_model_and_skips_a_broken_one(checkpoint, tmp_path, capsys):
    from PIL import Image

    from convzoo import checkpoint as ckpt
    from convzoo.data import load_dataset

    data = load_dataset("fashion-mnist-mini")
    paths = []
    for index in range(3):  # the test images themselves, as 28x28 grey PNG files: no resampling anywhere
        path = tmp_path / f"item{index}.png"
        Image.fromarray(data.test_images[index, 0].numpy()).save(path)
        paths.append(str(path))
    (tmp_path / "broken.jpg").write_bytes(b"this is not a jpeg")
    paths.insert(1, str(tmp_path / "broken.jpg"))
    assert main(["predict", "--checkpoint", str(checkpoint), *paths, "--top", "10", "--format", "json"]) == 0
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert "broken.jpg" in captured.err and "not an image in a known format" in captured.err
    assert results[1]["top"] is None
    # independently: normalize by hand with the checkpoint's mean and std, run the model, softmax
    loaded = ckpt.load(checkpoint)
    model = loaded.build_model().eval()
    x = (data.test_images[:3].float() / 255 - loaded.model.mean[0]) / loaded.model.std[0]
    with torch.no_grad():
        expected = model(x).softmax(1)
    for row, probabilities in zip([results[0], results[2], results[3]], expected, strict=True):
        predicted = {name: p for name, p in row["top"]}
        assert len(predicted) == 10
        for index, name in enumerate(data.classes):
            assert abs(predicted[name] - probabilities[index].item()) < 1e-4, name
    assert main(["predict", "--checkpoint", str(checkpoint), str(tmp_path / "broken.jpg")]) == 2


def test_bench_against_reference_reports_a_ratio(capsys):
    argv = [
        "bench",
        "resnet18",
        "--batch",
        "2",
        "--size",
        "64",
        "--repeats",
        "2",
        "--against",
        "torchvision",
        "--format",
        "json",
    ]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["impl"] for r in rows] == ["convzoo", "torchvision:resnet18"]
    assert (
        rows[0]["ratio"] > 0 and rows[0]["peak_memory_mib"] > 0 and rows[0]["latency_p90_ms"] >= rows[0]["latency_ms"]
    )


def test_bench_modes_and_bad_input(capsys):
    assert (
        main(
            [
                "bench",
                "cifar_resnet20",
                "--mode",
                "train",
                "--batch",
                "4",
                "--size",
                "32",
                "--repeats",
                "1",
                "--no-memory",
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["mode"] == "train"
    assert (
        main(["bench", "resnet18", "--batch", "2", "--size", "32", "--repeats", "1", "--optimize", "--format", "json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["variant"] == "optimized"
    assert main(["bench", "xception", "--against", "torchvision"]) == 2
    assert "no torchvision counterpart" in capsys.readouterr().err
    assert main(["bench", "resnet18", "--dtype", "int8", "--optimize"]) == 2  # int8 is compiled or nothing
    assert "use it with --optimize --compile" in capsys.readouterr().err


def test_bench_leaves_stderr_empty_on_a_cpu_only_machine():
    """The profiler's native library prints USDT lines and a GPU "ERROR" around Python; none may reach the user."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "convzoo", "bench", "resnet18", "--batch", "1", "--size", "64", "--repeats", "1"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0 and "peak_memory_mib" in completed.stdout
    assert completed.stderr == ""


def test_bench_against_torchvision_and_onnxruntime_in_one_interleaved_run(capsys):
    argv = ["bench", "mobilenet_v3_small", "--batch", "2", "--size", "64", "--repeats", "3", "--optimize"]
    assert main([*argv, "--against", "torchvision,onnxruntime", "--no-memory", "--format", "json"]) == 0
    ours, torchvision, exported = json.loads(capsys.readouterr().out)
    import onnxruntime

    assert (ours["impl"], ours["variant"], torchvision["impl"]) == (
        "convzoo",
        "optimized",
        "torchvision:mobilenet_v3_small",
    )
    assert exported["impl"] == f"onnxruntime {onnxruntime.__version__}" and exported["dtype"] == "fp32"
    for row in (ours, exported):  # each one's speed over eager torchvision's, from the same interleaved medians
        assert row["ratio"] == pytest.approx(torchvision["latency_ms"] / row["latency_ms"], rel=0.02)
    assert torchvision["ratio"] == 1.0
    assert main(["bench", "resnet18", "--mode", "train", "--against", "onnxruntime"]) == 2
    assert "--mode infer on the CPU" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # argparse: usage and one line, exit code 2
        main(["bench", "resnet18", "--against", "onnx"])
    assert exited.value.code == 2 and "distinct names from torchvision, timm, onnxruntime" in capsys.readouterr().err


def test_int8_export_quantizes_every_convolution_and_agrees_with_fp32(checkpoint, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    argv = ["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--out", str(out)]
    assert main([*argv, "--int8", "--calibrate", "fashion-mnist-mini"]) == 0
    printed = capsys.readouterr().out
    from convzoo.deploy.int8 import count_quantized_convs, top1_agreement

    counted = count_quantized_convs(out, out.with_suffix(".int8.onnx"))
    assert counted.convolutions == 19 and counted.quantized == 19  # cifar_resnet20: 19 convolutions, all int8
    assert f"{counted.quantized} of {counted.convolutions} convolutions int8" in printed
    data = load_dataset("fashion-mnist-mini")
    spec = ckpt.load(checkpoint).model
    batches = [spec.adapter(1)(data.test_images[i : i + 250]).detach().numpy() for i in range(0, 1000, 250)]
    agreement, count = top1_agreement(out, out.with_suffix(".int8.onnx"), batches)
    # One epoch of training leaves many near ties, so less than a trained model's 99%; wrong scales give ~10%.
    # Measured 2026-12-01 on Intel(R) Xeon(R) Processor (amx_tile, avx512_bf16; the checkpoint trained in bf16):
    # 94.0% of 1,000; the bound is ~2.7 binomial standard errors (0.75 points each) below. Not yet measured on AVX2.
    assert count == 1000 and agreement >= 0.92
    assert f"{agreement:.2%}" in printed
    assert main([*argv, "--int8"]) == 2  # no calibration data: one line
    assert "--calibrate DATA" in capsys.readouterr().err


@pytest.mark.slow
def test_int8_in_pytorch_quantizes_every_convolution_and_agrees_with_fp32(checkpoint):
    """PT2E + the x86 Inductor quantizer, compiled: every convolution int8, the predictions of fp32 kept."""
    from convzoo.deploy.int8_pt2e import count_quantized_convs, quantize_pt2e

    loaded = ckpt.load(checkpoint)
    model = loaded.build_model().eval()
    adapter = loaded.model.adapter(1)
    data = load_dataset("fashion-mnist-mini")
    calibration = [adapter(data.train_images[i : i + 128]) for i in range(0, 512, 128)]
    counted = count_quantized_convs(quantize_pt2e(copy.deepcopy(model), calibration[0], calibration))
    assert counted.convolutions == 19 and counted.quantized == 19  # cifar_resnet20: 19 convolutions, all int8
    fast, report = optimize(model, calibration[0], dtype="int8", calibration=calibration)
    assert report.dtype == "int8" and report.compiled and report.folded_batch_norms == 19
    same = 0
    with torch.no_grad():
        for i in range(0, 1000, 250):
            images = adapter(data.test_images[i : i + 250])
            same += int((fast(images).argmax(1) == model(images).argmax(1)).sum())
    # One epoch of training leaves many near ties, so less than a trained model's 99%; wrong scales give ~10%.
    # Measured 2026-12-01 on Intel(R) Xeon(R) Processor (amx_tile, avx512_bf16): 969 of 1,000; the bound is ~3.5
    # binomial standard errors (5.5 images each) below. Not yet measured on AVX2.
    assert same >= 950
    from convzoo.errors import OptionError

    with pytest.raises(OptionError, match="int8 needs calibration batches"):
        optimize(model, calibration[0], dtype="int8")
