# SPDX-License-Identifier: MIT
"""The short-run trainer's config door (compare's learns-check): the engine's data and model, nothing kept."""

import os

import torch

from convzoo.data import load_dataset
from convzoo.training import TrainConfig
from convzoo.training.short_run import train_config


def test_a_config_run_trains_its_steps_tests_the_whole_test_set_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the engine would make runs/MODEL-DATA here, with checkpoints and a lock
    config = TrainConfig(
        model="cifar_resnet20", data="fashion-mnist-mini", epochs=1, steps_per_epoch=12, batch_size=64,
        optimizer="adamw", lr=2e-3, grad_clip=2.0, precise_bn=3, seed=0, progress=False,
    )  # fmt: skip
    run = train_config(config)
    assert len(run.curve.loss) == 12 and len(run.curve.lr) == 12
    assert os.listdir(tmp_path) == []
    # the one-cycle schedule of the engine, over the 12 steps: it rises, peaks at 2e-3, and falls again
    peak = max(run.curve.lr)
    assert abs(peak - 2e-3) < 1e-4 and run.curve.lr[0] < peak and run.curve.lr[-1] < peak
    # its test figure is the accuracy of the returned model on every test image, computed here independently
    data = load_dataset("fashion-mnist-mini")
    images = (data.test_images.float() / 255 - data.mean[0]) / data.std[0]
    with torch.no_grad():
        predicted = run.model.eval()(images).argmax(1)
    assert run.test.count == len(data.test_labels) == 1000
    assert abs(run.test.top1 - (predicted == data.test_labels).float().mean().item()) < 1e-6
    assert not run.model.training and run.train_seconds > 0
