# SPDX-License-Identifier: MIT
"""A user's weights file (``--weights``, ``create_model(pretrained=PATH)``): what fits loads whole, a classifier
of another class count stays fresh, and a missing tensor, a tensor of another shape or another model's checkpoint
is refused naming what is wrong."""

import pytest
import torch

import convzoo
from convzoo import checkpoint as ckpt
from convzoo.cli import main
from convzoo.errors import CheckpointError
from convzoo.training.setup import read_starting_weights


def _weights(seed: int, name: str = "cifar_resnet20", num_classes: int = 10) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = convzoo.create_model(name, num_classes=num_classes, in_chans=1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.3, 0.3)
    return model.state_dict()


def _loaded(path, num_classes: int = 10) -> dict[str, torch.Tensor]:
    return convzoo.create_model("cifar_resnet20", num_classes=num_classes, in_chans=1, pretrained=path).state_dict()


def test_our_own_state_dict_loads_whole_classifier_included(tmp_path):
    state = _weights(1)
    torch.save(state, tmp_path / "w.pt")
    loaded = _loaded(tmp_path / "w.pt")
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[key], state[key]) for key in state)


def test_a_classifier_of_another_class_count_stays_fresh_and_the_rest_loads(tmp_path):
    state = _weights(1)
    torch.save(state, tmp_path / "w.pt")
    torch.manual_seed(5)
    loaded = _loaded(tmp_path / "w.pt", num_classes=3)
    torch.manual_seed(5)
    fresh = convzoo.create_model("cifar_resnet20", num_classes=3, in_chans=1).state_dict()  # same draws
    for key in state:
        expected = fresh[key] if key.startswith("head.fc.") else state[key]
        assert torch.equal(loaded[key], expected), key


def test_a_weights_file_missing_a_tensor_is_refused_naming_it(tmp_path):
    state = _weights(1)
    del state["stage2.1.conv1.0.weight"]
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(CheckpointError, match=r"missing \['stage2\.1\.conv1\.0\.weight'\]"):
        _loaded(tmp_path / "w.pt")


def test_a_tensor_of_another_shape_is_a_checkpoint_error_naming_it(tmp_path, capsys):
    """An RGB run's weights for grey images: the names are ours, the stem's shape is not (it was a traceback)."""
    state = _weights(1)
    state["stem.0.weight"] = torch.zeros(16, 3, 3, 3)
    torch.save(state, tmp_path / "rgb.pt")
    with pytest.raises(Exception) as caught:  # a RuntimeError here is the bug this test is about
        _loaded(tmp_path / "rgb.pt")
    assert isinstance(caught.value, CheckpointError), repr(caught.value)
    assert "rgb.pt does not fit cifar_resnet20: size mismatch for stem.0.weight" in str(caught.value)


def _checkpoint(path, name: str, raw, ema=None):
    spec = ckpt.ModelSpec(
        name, {"num_classes": 10, "in_chans": 1}, [str(i) for i in range(10)], [0.5], [0.25], 1, 28, 8
    )
    return ckpt.save(path, ckpt.Checkpoint(spec, raw, ema))


def test_weights_from_a_checkpoint_are_its_ema_weights(tmp_path):
    raw, ema = _weights(1), _weights(2)
    start = read_starting_weights(_checkpoint(tmp_path / "last.pt", "cifar_resnet20", raw, ema))
    assert start.model_name == "cifar_resnet20"
    assert start.state.keys() == ema.keys() and all(torch.equal(start.state[key], ema[key]) for key in ema)
    start = read_starting_weights(_checkpoint(tmp_path / "plain.pt", "cifar_resnet20", raw))
    assert all(torch.equal(start.state[key], raw[key]) for key in raw)


def test_another_models_checkpoint_is_refused_as_weights(tmp_path, capsys):
    path = _checkpoint(tmp_path / "last.pt", "cifar_resnet32", _weights(1, "cifar_resnet32"))
    argv = ["train", "--model", "cifar_resnet20", "--data", "fashion-mnist-mini", "--weights", str(path), "--epochs"]
    assert main([*argv, "1", "--steps-per-epoch", "1", "--no-progress", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"convzoo: error: {path} holds cifar_resnet32 weights, not cifar_resnet20"
