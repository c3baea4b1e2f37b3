# SPDX-License-Identifier: MIT
"""eval, predict and export take everything from the checkpoint: its model and class count, its normalization, and
its EMA weights where the run kept them; weights that are another model's are refused naming a tensor.

The checkpoint is written by hand (no training): raw and EMA weights from two different seeds, and a mean and std
no dataset default has, so a command that used the raw weights or other statistics gives other figures than the
ones computed here directly from the two state dicts.
"""

import json

import pytest
import torch
import torch.nn.functional as F

import convzoo
from convzoo import checkpoint as ckpt
from convzoo.cli import main
from convzoo.data import load_dataset
from convzoo.errors import CheckpointError

MEAN, STD = 0.3, 0.4


def _random_weights(seed: int, name: str = "cifar_resnet20") -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = convzoo.create_model(name, num_classes=10, in_chans=1)
    for module in model.modules():  # statistics away from (0, 1), and logits spread enough to tell models apart
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.3, 0.3)
            module.running_var.uniform_(0.5, 1.5)
    with torch.no_grad():
        model.head.fc.weight.mul_(5)
    return model.state_dict()


def _model(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    model = convzoo.create_model("cifar_resnet20", num_classes=10, in_chans=1)
    model.load_state_dict(state)
    return model.eval()


@pytest.fixture(scope="module")
def kept_ema(tmp_path_factory):
    """A fashion-mnist-mini checkpoint whose EMA weights differ from its raw ones."""
    data = load_dataset("fashion-mnist-mini")
    spec = ckpt.ModelSpec(
        "cifar_resnet20",
        {"num_classes": 10, "in_chans": 1},
        list(data.classes),
        [MEAN],
        [STD],
        data_channels=1,
        image_size=28,
        min_size=8,
        dataset="fashion-mnist-mini",
    )
    raw, ema = _random_weights(1), _random_weights(2)
    path = ckpt.save(tmp_path_factory.mktemp("ema") / "last.pt", ckpt.Checkpoint(spec, raw, ema))
    return path, raw, ema, data


def test_build_model_takes_the_ema_weights_and_the_raw_ones_on_request(kept_ema):
    path, raw, ema, _ = kept_ema
    loaded = ckpt.load(path)
    for use_ema, expected in ((True, ema), (False, raw)):
        state = loaded.build_model(use_ema=use_ema).state_dict()
        assert all(torch.equal(state[key], expected[key]) for key in expected), use_ema


def test_eval_measures_the_ema_weights_with_the_checkpoints_normalization(kept_ema, tmp_path, capsys):
    path, _, ema, data = kept_ema
    assert main(["eval", "--checkpoint", str(path), "--out", str(tmp_path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    x = (data.test_images.float() / 255 - MEAN) / STD
    with torch.no_grad():
        expected = F.cross_entropy(_model(ema)(x), data.test_labels).item()
    assert report["loss"] == pytest.approx(expected, abs=2e-4)  # the raw weights give 2.84, these 3.48


def test_predict_uses_the_ema_weights_and_the_checkpoints_normalization(kept_ema, tmp_path, capsys):
    from PIL import Image

    path, _, ema, data = kept_ema
    image = tmp_path / "item.png"
    Image.fromarray(data.test_images[0, 0].numpy()).save(image)  # 28x28 grey: no resampling anywhere
    assert main(["predict", "--checkpoint", str(path), str(image), "--top", "10", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    x = (data.test_images[:1].float() / 255 - MEAN) / STD
    with torch.no_grad():
        expected = _model(ema)(x).softmax(1)[0]
    predicted = dict(row["top"])
    assert sorted(predicted) == sorted(data.classes)
    for index, name in enumerate(data.classes):
        assert predicted[name] == pytest.approx(expected[index].item(), abs=1e-4), name


def test_export_writes_the_ema_model_and_the_checkpoints_description(kept_ema, tmp_path, capsys):
    from convzoo.deploy.export import run_onnx

    path, raw, ema, data = kept_ema
    out = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(path), "--format", "onnx", "--out", str(out)]) == 0
    metadata = json.loads((tmp_path / "m.onnx.json").read_text())
    assert metadata["classes"] == list(data.classes) and metadata["input_size"] == [1, 28, 28]
    assert (metadata["mean"], metadata["std"], metadata["kwargs"]["num_classes"]) == ([MEAN], [STD], 10)
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        expected, other = _model(ema)(x), _model(raw)(x)
    exported = run_onnx(out, x)
    scale = expected.abs().max().item()
    assert (exported - expected).abs().max().item() <= 1e-5 * scale
    assert (exported - other).abs().max().item() > 1e-2 * scale


def test_a_checkpoint_holding_another_models_weights_is_refused_naming_a_tensor(kept_ema, tmp_path):
    path, _, _, _ = kept_ema
    loaded = ckpt.load(path)
    deeper = _random_weights(3, "cifar_resnet32")  # same names up to stage 3's third block, then more
    expected = r"do not fit cifar_resnet20: Unexpected key\(s\) in state_dict: .stage1\.3"
    with pytest.raises(CheckpointError, match=expected):
        ckpt.Checkpoint(loaded.model, deeper).build_model()
