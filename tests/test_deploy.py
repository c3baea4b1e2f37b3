"""Optimized inference, export (ONNX round trip through onnxruntime), prediction on real image files, bench."""

import json

import pytest
import torch

import convzoo
from convzoo.cli import main
from convzoo.deploy import fold_batch_norms, optimize
from convzoo.deploy.export import export, run_onnx, verify_onnx
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


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_optimize_checks_its_outputs(dtype):
    from convzoo.runtime import cpu_supports_bf16

    if dtype == "bf16" and not cpu_supports_bf16():
        pytest.skip("no native bf16 on this CPU")
    model = convzoo.create_model("mobilenet_v2").eval()
    x = torch.randn(2, 3, 64, 64)
    fast = optimize(model, x, dtype=dtype)
    with torch.no_grad():
        assert fast(x).dtype == torch.float32
        assert fast(x).argmax(1).tolist() == model(x).argmax(1).tolist() or dtype == "bf16"
    assert fast.max_relative_difference < (1e-3 if dtype == "fp32" else 0.1)


def test_optimize_rejects_an_unknown_dtype():
    with pytest.raises(ValueError, match="fp32 or bf16"):
        optimize(convzoo.create_model("resnet18"), torch.randn(1, 3, 32, 32), dtype="int4")


@pytest.mark.parametrize("name", ["resnet18", "efficientnet_b0", "mobilenet_v3_large", "convnext_tiny", "googlenet", "xception", "cifar_resnet20", "alexnet"])
def test_onnx_round_trip(name, tmp_path):
    model = convzoo.create_model(name, num_classes=10).eval()
    # ONNX's adaptive pooling needs the output size to divide the input size: AlexNet pools to 6x6
    size = 224 if name == "alexnet" else max(get_entry(name).min_input_size, 64)
    path = export(model, torch.randn(2, 3, size, size), "onnx", tmp_path / f"{name}.onnx")
    assert verify_onnx(path, model, torch.randn(3, 3, size, size)) <= 1e-4  # another batch size: dynamic axis


@pytest.mark.parametrize("fmt", ["torchscript", "torch-export"])
def test_other_export_formats_reload(fmt, tmp_path):
    model = convzoo.create_model("cifar_resnet20", num_classes=10).eval()
    path = export(model, torch.randn(2, 3, 32, 32), fmt, tmp_path / "model.pt2")
    x = torch.randn(5, 3, 32, 32)
    loaded = torch.jit.load(str(path)) if fmt == "torchscript" else torch.export.load(str(path)).module()
    with torch.no_grad():
        assert (loaded(x) - model(x)).abs().max() < 1e-4


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
    assert "broken.jpg" in captured.err and "not a readable image" in captured.err
    assert results[1]["top"] is None
    # independently: normalize by hand with the checkpoint's mean and std, run the model, softmax
    loaded = ckpt.load(checkpoint)
    model = loaded.build_model().eval()
    x = (data.test_images[:3].float() / 255 - loaded.model.mean[0]) / loaded.model.std[0]
    with torch.no_grad():
        expected = model(x).softmax(1)
    for row, probabilities in zip([results[0], results[2], results[3]], expected):
        predicted = {name: p for name, p in row["top"]}
        assert len(predicted) == 10
        for index, name in enumerate(data.classes):
            assert abs(predicted[name] - probabilities[index].item()) < 1e-4, name
    assert main(["predict", "--checkpoint", str(checkpoint), str(tmp_path / "broken.jpg")]) == 2


def test_bench_against_reference_reports_a_ratio(capsys):
    argv = ["bench", "resnet18", "--batch", "2", "--size", "64", "--repeats", "2", "--against", "torchvision", "--format", "json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["impl"] for r in rows] == ["convzoo", "torchvision:resnet18"]
    assert rows[0]["ratio"] > 0 and rows[0]["peak_memory_mib"] > 0 and rows[0]["latency_p90_ms"] >= rows[0]["latency_ms"]


def test_bench_modes_and_bad_input(capsys):
    assert main(["bench", "cifar_resnet20", "--mode", "train", "--batch", "4", "--size", "32", "--repeats", "1", "--no-memory", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["mode"] == "train"
    assert main(["bench", "resnet18", "--batch", "2", "--size", "32", "--repeats", "1", "--optimize", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["variant"] == "optimized"
    assert main(["bench", "xception", "--against", "torchvision"]) == 2
    assert "no torchvision counterpart" in capsys.readouterr().err
