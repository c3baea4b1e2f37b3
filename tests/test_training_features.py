# SPDX-License-Identifier: MIT
"""Each training feature against a figure worked out here: clipping, mixup, cutmix, channels-last, precise BN,
parameter groups, the best checkpoint and the non-finite-loss rules.

A run with every feature on (tests/test_training.py) only shows that they run together; each test here fails
when its feature is switched off or does something else, on one or two steps of a real ``Trainer``.
"""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convzoo
from convzoo.errors import DivergedError
from convzoo.runtime import Context
from convzoo.training import TrainConfig, load_checkpoint, train
from convzoo.training.optim import build_optimizer
from convzoo.training.state import MAX_SKIPPED_BATCHES, TrainState, skip_or_diverge

NUM_CLASSES = 10  # Fashion-MNIST


def _config(tmp_path, **overrides) -> TrainConfig:
    values = {
        "model": "cifar_resnet20",
        "epochs": 1,
        "batch_size": 32,
        "steps_per_epoch": 2,
        "amp": "none",
        "crop_padding": 0,
        "flip": False,
        "out": str(tmp_path / "run"),
        "progress": False,
    }
    values.update(overrides)
    return TrainConfig(**values)


@contextlib.contextmanager
def _trainer(tmp_path, **overrides):
    from convzoo.training.engine import Trainer

    trainer = Trainer(_config(tmp_path, **overrides), Context())
    try:
        yield trainer
    finally:
        trainer.lock.release()


def _watch_forward(trainer) -> list:
    """Record ``(input, criterion)`` of every training forward (after mixing, before the model)."""
    seen, real = [], trainer.step.forward

    def forward(x, criterion):
        seen.append((x.detach().clone(), criterion))
        return real(x, criterion)

    trainer.step.forward = forward
    return seen


def _scripted_evaluation(monkeypatch, top1s, loss: float = 1.0) -> list[dict]:
    """Replace the test-split evaluation by results with the given top-1s (seconds saved per epoch); returns
    the state dict of each model it was given."""
    from convzoo.evaluation import EvalResult
    from convzoo.training import engine

    evaluated, scripted = [], iter(top1s)

    def evaluate(model, *args, classes, **kwargs):
        evaluated.append({k: v.clone() for k, v in model.state_dict().items()})
        confusion = torch.eye(len(classes), dtype=torch.long)
        return EvalResult(loss, next(scripted), 1.0, len(classes), 1.0, confusion, classes)

    monkeypatch.setattr(engine, "evaluate", evaluate)
    return evaluated


def _grad_norm(model: nn.Module) -> float:
    return float(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).norm())


# --- gradient clipping -----------------------------------------------------------------------------------------
def test_grad_clip_leaves_the_global_gradient_norm_at_the_limit(tmp_path):
    """The gradients the optimizer stepped with (kept until the next step's zero_grad) have norm ``grad_clip``;
    a fresh network's gradient on a batch is far larger than 0.05, so without clipping the norm shows."""
    with _trainer(tmp_path, grad_clip=0.05) as trainer:
        images, labels = next(iter(trainer.train_loader.batches()))
        trainer.train_batch(images, labels)
        assert _grad_norm(trainer.model) == pytest.approx(0.05, rel=1e-4)


# --- mixup and cutmix ------------------------------------------------------------------------------------------
def _one_hot(labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, NUM_CLASSES).float()


def _noise_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Random pixels: no two images agree anywhere, so every pixel tells which image it came from."""
    generator = torch.Generator().manual_seed(4)
    images = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8, generator=generator)
    return images, torch.arange(16) % NUM_CLASSES


def _check_criterion(criterion, labels: torch.Tensor, lam: float) -> None:
    """The loss is the cross-entropy against ``lam · y + (1 − lam) · y rolled by one`` (torchvision's pairing)."""
    targets = lam * _one_hot(labels) + (1 - lam) * _one_hot(labels.roll(1, 0))
    probe = torch.randn(len(labels), NUM_CLASSES, generator=torch.Generator().manual_seed(5))
    expected = F.cross_entropy(probe, targets, label_smoothing=0.1)
    torch.testing.assert_close(criterion(probe), expected, rtol=1e-5, atol=1e-6)


def test_mixup_alone_blends_each_image_with_its_neighbour_and_the_targets_alike(tmp_path):
    """Mixup (Zhang et al. 2018) on its own, no cutmix: x = λ·a + (1 − λ)·b for one λ per batch, b the batch
    rolled by one, and the targets blended with the same λ; λ solved here by least squares."""
    with _trainer(tmp_path, mixup=0.4) as trainer:
        seen = _watch_forward(trainer)
        images, labels = _noise_batch()
        trainer.train_batch(images, labels)
        base = trainer.adapter(images)
    x, criterion = seen[0]
    rolled = base.roll(1, 0)
    difference = base - rolled
    lam = float(((x - rolled) * difference).sum() / (difference * difference).sum())
    assert 0.01 < lam < 0.99, f"λ = {lam}: the batch was not mixed"
    torch.testing.assert_close(x, lam * base + (1 - lam) * rolled, rtol=1e-4, atol=1e-4)
    _check_criterion(criterion, labels, lam)


def test_cutmix_alone_pastes_one_rectangle_of_the_neighbour_and_weights_the_targets_by_area(tmp_path):
    """CutMix (Yun et al. 2019): every pixel is the image's own or its neighbour's, the neighbour's pixels form
    one rectangle (the same for the whole batch), and the targets weigh the image by the area it kept."""
    with _trainer(tmp_path, cutmix=1.0) as trainer:
        seen = _watch_forward(trainer)
        images, labels = _noise_batch()
        trainer.train_batch(images, labels)
        base = trainer.adapter(images)
    x, criterion = seen[0]
    rolled = base.roll(1, 0)
    pasted = (x != base).any(0).any(0)  # (H, W): where some image shows its neighbour
    assert pasted.any(), "no pixel was pasted: the batch was not cut and mixed"
    rows, cols = pasted.any(1).nonzero().flatten(), pasted.any(0).nonzero().flatten()
    box = torch.zeros_like(pasted)
    box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
    assert torch.equal(pasted, box), "the pasted pixels are not one rectangle"
    torch.testing.assert_close(x[:, :, box], rolled[:, :, box])
    torch.testing.assert_close(x[:, :, ~box], base[:, :, ~box])
    _check_criterion(criterion, labels, 1 - float(box.sum()) / box.numel())


# --- channels-last ---------------------------------------------------------------------------------------------
def test_channels_last_reaches_the_weights_and_every_training_input(tmp_path, monkeypatch):
    """A 3-channel model (grey images replicated): one channel would be channels-last in either layout."""
    from convzoo.training import engine

    real_build = engine.build_model

    def three_channels(config, data):
        kwargs = {**real_build(config, data)[1], "in_chans": 3}
        return convzoo.create_model(config.model, **kwargs), kwargs

    monkeypatch.setattr(engine, "build_model", three_channels)
    with _trainer(tmp_path, channels_last=True) as trainer:
        formats = []
        trainer.model.register_forward_pre_hook(
            lambda _module, args: formats.append(args[0].is_contiguous(memory_format=torch.channels_last))
        )
        images, labels = next(iter(trainer.train_loader.batches()))
        assert not trainer.adapter(images).is_contiguous(memory_format=torch.channels_last)
        trainer.train_batch(images, labels)
        convolutions = [m.weight for m in trainer.model.modules() if isinstance(m, nn.Conv2d)]
    assert formats == [True]
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in convolutions)
    assert not all(w.is_contiguous() for w in convolutions)  # 3x3 kernels: the two formats differ


# --- precise batch norm ----------------------------------------------------------------------------------------
def test_precise_bn_gives_the_evaluated_ema_model_the_mean_statistics_of_its_batches(tmp_path, monkeypatch):
    """Before evaluation the model that is evaluated (the EMA) gets, in its first batch norm, the mean over the
    first ``precise_bn`` batches of a fixed-seed training loader of each batch's channel mean and unbiased
    variance (a cumulative average; Wu & Johnson 2021) — computed here from its first convolution's output."""
    evaluated = _scripted_evaluation(monkeypatch, [0.5])
    with _trainer(tmp_path, precise_bn=3, ema=0.5) as trainer:
        for step, (images, labels) in enumerate(trainer.train_loader.batches()):
            if step == 2:
                break
            trainer.train_batch(images, labels)
        trainer.end_epoch(0.0)
        ema = trainer.ema.module
        loader = trainer.data.train_loader(32, None, seed=trainer.config.seed + 1)
        loader.set_epoch(0)
        means, variances = [], []
        with torch.no_grad():
            for index, (batch, _labels) in enumerate(loader):
                if index == 3:
                    break
                out = ema.stem[0](trainer.adapter(batch))  # the first convolution, before the first batch norm
                means.append(out.mean((0, 2, 3)))
                variances.append(out.var((0, 2, 3), unbiased=True))
    statistics = evaluated[0]
    name = next(k for k in statistics if k.endswith("running_mean"))
    torch.testing.assert_close(statistics[name], torch.stack(means).mean(0), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        statistics[name.replace("running_mean", "running_var")], torch.stack(variances).mean(0), rtol=1e-4, atol=1e-5
    )


# --- parameter groups ------------------------------------------------------------------------------------------
def test_weight_decay_applies_to_conv_and_linear_weights_only():
    """Norm weights and biases, and every bias, get no weight decay (Goyal et al. 2017); conv and linear weights
    get the configured decay; every trainable parameter is in exactly one group."""
    model = convzoo.create_model("cifar_resnet20", num_classes=10)
    config = TrainConfig(model="cifar_resnet20", weight_decay=5e-4).resolved(32, "cifar10")
    groups = build_optimizer(model, config).param_groups
    decay_of = {id(p): group["weight_decay"] for group in groups for p in group["params"]}
    assert len(decay_of) == sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    expected = {}
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            decayed = isinstance(module, nn.Conv2d | nn.Linear) and name == "weight"
            expected[id(param)] = 5e-4 if decayed else 0.0
    assert decay_of == expected
    assert sorted(set(expected.values())) == [0.0, 5e-4]


# --- the best checkpoint ---------------------------------------------------------------------------------------
def test_best_pt_holds_the_epoch_with_the_highest_test_top1(tmp_path, monkeypatch):
    """Test top-1 scripted to 0.5, 0.7, 0.6 over three epochs: best.pt is epoch 2's, last.pt epoch 3's."""
    _scripted_evaluation(monkeypatch, [0.5, 0.7, 0.6])
    result = train(_config(tmp_path, epochs=3, steps_per_epoch=1))
    assert [row["test_top1"] for row in result.history] == [0.5, 0.7, 0.6]
    best = load_checkpoint(result.run_dir / "best.pt").training["train_state"]
    last = load_checkpoint(result.run_dir / "last.pt").training["train_state"]
    assert (best["epoch"], best["best_top1"]) == (2, 0.7)
    assert (last["epoch"], last["best_top1"]) == (3, 0.7)


# --- non-finite losses -----------------------------------------------------------------------------------------
def test_a_non_finite_test_loss_stops_the_run_before_anything_is_saved(tmp_path, monkeypatch):
    _scripted_evaluation(monkeypatch, [0.5], loss=float("nan"))
    with pytest.raises(DivergedError, match=r"the test loss after epoch 1 is nan; no checkpoint had been written"):
        train(_config(tmp_path, steps_per_epoch=1))
    assert not (tmp_path / "run" / "last.pt").exists() and not (tmp_path / "run" / "best.pt").exists()


def test_on_nan_skip_skips_at_most_ten_batches_then_stops():
    """``--on-nan skip``: the 1st to 10th non-finite batches are skipped, the 11th stops the run."""
    state = TrainState(epoch=0, step_in_epoch=13)
    for count in range(1, MAX_SKIPPED_BATCHES + 1):
        skip_or_diverge(state, float("nan"), "skip", lambda: "kept", announce=False)
        assert state.skipped_batches == count
    assert MAX_SKIPPED_BATCHES == 10
    with pytest.raises(DivergedError, match=r"became inf at epoch 1, step 14 after skipping 10 batches; kept"):
        skip_or_diverge(state, float("inf"), "skip", lambda: "kept", announce=False)
    with pytest.raises(DivergedError, match=r"became nan at epoch 1, step 14; kept"):
        skip_or_diverge(TrainState(step_in_epoch=13), float("nan"), "stop", lambda: "kept", announce=False)
