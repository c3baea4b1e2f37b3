# SPDX-License-Identifier: MIT
"""A checkpoint's plain data is a schema: whatever a valid ``torch.save`` file holds, reading it costs little and a
wrong value is one line (exit 2) in every command that reads checkpoints: predict, eval, export, train --resume.

Each fault below is a real value planted in a real checkpoint written by ``convzoo train``; before the schema
checks, each one gave a traceback, or (the self-doubling lists) 27-38 s, 1.4-2.9 GB and a 604 MB "one-line"
error.
"""

import math
import shutil
import sys
import time
import tracemalloc

import pytest
import torch

from convzoo import checkpoint as ckpt
from convzoo.checkpoint.plain_data import MAX_DEPTH, short
from convzoo.cli import main
from convzoo.errors import CheckpointError


def doubling(times: int) -> list:
    """A list that holds the one before it twice, ``times`` over: pickled by reference, a few bytes per level,
    2**times items to any walk that does not stop."""
    value: list = [0]
    for _ in range(times):
        value = [value, value]
    return value


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run directory with last.pt from two real training steps, and an image to predict."""
    root = tmp_path_factory.mktemp("crafted")
    run = root / "run"
    argv = ["train", "--model", "cifar_resnet20", "--data", "fashion-mnist-mini", "--epochs", "1"]
    argv += ["--steps-per-epoch", "2", "--batch-size", "8", "--no-progress", "--out", str(run)]
    assert main(argv) == 0
    image = root / "x.png"
    from torchvision.io import write_png

    write_png(torch.zeros(1, 28, 28, dtype=torch.uint8), str(image))
    return run, image


def _planted(trained, tmp_path, change) -> "tuple":
    """A copy of the trained run whose last.pt has ``change(payload)`` applied, saved by torch.save."""
    run, image = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    payload = torch.load(copy / "last.pt", weights_only=True)
    change(payload)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(5000)  # pickling a deep list recurses once per level
    try:
        torch.save(payload, copy / "last.pt")
    finally:
        sys.setrecursionlimit(limit)
    return copy, image


def _model(key, value):
    def change(payload):
        payload["model"][key] = value

    return change


def _kwarg(key, value):
    def change(payload):
        payload["model"]["kwargs"][key] = value

    return change


MODEL_FAULTS = {
    "classes-doubling": _model("classes", doubling(26)),
    "name-doubling": _model("name", doubling(26)),
    "num-classes-doubling": _kwarg("num_classes", doubling(26)),
    "classes-nested-deep": _model("classes", nested(MAX_DEPTH * 20)),
    "num-classes-huge": _kwarg("num_classes", 10**12),
    "num-classes-huge-int": _kwarg("num_classes", 10**5000),  # repr raises past 4,300 digits
    "image-size-huge": _model("image_size", 10**9),
    "image-size-negative": _model("image_size", -5),
    "resize-size-negative": _model("resize_size", -1),
    "min-size-zero": _model("min_size", 0),
    "mean-empty": _model("mean", []),
    "std-empty": _model("std", []),
    "std-zero": _model("std", [0.0]),
    "mean-nan": _model("mean", [math.nan]),
    "fewer-class-names": _model("classes", ["a", "b"]),
    "in-chans-huge": _kwarg("in_chans", 10**6),
    "drop-rate-above-one": _kwarg("drop_rate", 7.0),
    "kwarg-a-list": _kwarg("small_input", [True] * 5),
    "name-long": _model("name", "x" * 10**5),
    "interpolation-unknown": _model("interpolation", "lanczos9"),
}


def _one_line(argv, capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err[:2000]
    assert len(err) < 1000, f"a {len(err):,}-character error"
    return err


@pytest.mark.parametrize("fault", MODEL_FAULTS)
def test_a_crafted_model_description_is_one_line_in_every_command_cheaply(trained, tmp_path, capsys, fault):
    run, image = _planted(trained, tmp_path, MODEL_FAULTS[fault])
    checkpoint = str(run / "last.pt")
    assert (run / "last.pt").stat().st_size < 2**20 * 3  # the model's weights; the planted value adds bytes
    tracemalloc.start()
    began = time.perf_counter()
    try:
        with pytest.raises(CheckpointError):
            ckpt.load(checkpoint)
        seconds = time.perf_counter() - began
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 1.0, f"refusing took {seconds:.1f} s"
    assert peak < 200 * 2**20, f"refusing took {peak / 2**20:.0f} MB"
    for argv in (
        ["predict", "--checkpoint", checkpoint, str(image)],
        ["eval", "--checkpoint", checkpoint],
        ["export", "--checkpoint", checkpoint, "--out", str(tmp_path / "m.onnx")],
        ["train", "--resume", "--model", "cifar_resnet20", "--epochs", "1", "--steps-per-epoch", "2"]
        + ["--batch-size", "8", "--no-progress", "--out", str(run)],
    ):
        assert "last.pt" in _one_line(argv, capsys)


def _training(key, value):
    def change(payload):
        payload["training"][key] = value

    return change


def _momentum_of_another_shape(payload):
    state = payload["training"]["optimizer_state"]["state"]
    first = next(iter(state))
    state[first]["momentum_buffer"] = torch.zeros(3, 3)


def _position(key, value):
    def change(payload):
        payload["training"]["train_state"][key] = value

    return change


RESUME_FAULTS = {
    "rng-state-a-string": _training("rng_state", "not a tensor"),
    "rng-state-floats": _training("rng_state", torch.zeros(10)),
    "optimizer-state-empty-groups": _training("optimizer_state", {"state": {}, "param_groups": []}),
    "optimizer-state-a-list": _training("optimizer_state", [1, 2, 3]),
    "momentum-of-another-shape": _momentum_of_another_shape,
    "schedule-state-a-string": _training("schedule_state", "cosine"),
    "epoch-negative": _position("epoch", -3),
    "sums-short": _position("sums", [1.0]),
    "model-state-a-list": lambda payload: payload.update(model_state=[1, 2]),
    "config-a-list": _training("config", ["epochs"]),
}


@pytest.mark.parametrize("fault", RESUME_FAULTS)
def test_a_crafted_training_state_is_one_line_on_resume(trained, tmp_path, capsys, fault):
    run, _ = _planted(trained, tmp_path, RESUME_FAULTS[fault])
    argv = ["train", "--resume", "--model", "cifar_resnet20", "--epochs", "1", "--steps-per-epoch", "2"]
    err = _one_line(argv + ["--batch-size", "8", "--no-progress", "--out", str(run)], capsys)
    assert "last.pt" in err


def test_short_bounds_what_it_formats_before_formatting():
    began = time.perf_counter()
    assert short(doubling(26)).startswith("[[[")
    assert len(short("x" * 10**7)) <= 83
    assert short(10**5000) == "<an integer of 16,610 bits>"
    assert short(torch.zeros(1000, 1000)) == "<tensor (1000, 1000) float32>"
    assert time.perf_counter() - began < 0.1


def test_a_wrong_shape_weights_error_names_the_tensor(trained, tmp_path, capsys):
    run, image = _planted(trained, tmp_path, lambda p: p["model_state"].update({"head.fc.weight": torch.zeros(3, 3)}))
    err = _one_line(["predict", "--checkpoint", str(run / "last.pt"), str(image)], capsys)
    assert "size mismatch for head.fc.weight" in err  # before: it ended at "...for CifarResNet:"
