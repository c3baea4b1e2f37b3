# SPDX-License-Identifier: MIT
"""The training engine: a real run, exact resume, refusals that protect earlier runs, fine-tuning, torchrun."""

import json
import math
import os
import re
import subprocess
import sys

import pytest
import torch

from convzoo import checkpoint as ckpt
from convzoo.training import CheckpointError, TrainConfig, load_checkpoint, train


def _config(tmp_path, name="run", **overrides):
    values = {
        "model": "cifar_resnet20",
        "epochs": 2,
        "batch_size": 256,
        "steps_per_epoch": 8,
        "amp": "none",
        "out": str(tmp_path / name),
        "progress": False,
    }
    values.update(overrides)
    return TrainConfig(**values)


@pytest.mark.slow  # trains or starts processes: the slow tier (keeps make test under 10 min on AVX2)
def test_a_short_run_learns_and_leaves_its_records(tmp_path):
    result = train(_config(tmp_path, epochs=3, steps_per_epoch=12))
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert result.final["test_top1"] > 0.3  # 10 classes: chance is 0.1
    run = result.run_dir
    assert {"last.pt", "best.pt", "config.json", "metrics.jsonl", "metrics.csv"} <= {p.name for p in run.iterdir()}
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["model"] == "cifar_resnet20" and "torch" in config["environment"]
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3
    checkpoint = load_checkpoint(run / "last.pt")
    assert checkpoint.model.classes[0] == "T-shirt/top" and checkpoint.model.num_classes == 10
    assert len(checkpoint.model.mean) == 1 and checkpoint.training["train_state"]["epoch"] == 3
    checkpoint.build_model()


EVERY_STATEFUL_PART = {  # every random draw, and the epoch-dependent image side
    "ema": 0.9,
    "mixup": 0.2,
    "cutmix": 1.0,
    "random_erasing": 0.25,
    "precise_bn": 2,
    "amp": "auto",
    "drop_rate": 0.2,
    "progressive_resize": 16,  # epoch 1 at 16 px, epoch 2 (where the run is stopped) at 28
}


@pytest.mark.parametrize(
    "stop_at_step, options",
    [
        pytest.param(11, {}, id="mid-epoch", marks=pytest.mark.slow),
        pytest.param(8, {}, id="epoch-boundary", marks=pytest.mark.slow),
        pytest.param(11, EVERY_STATEFUL_PART, id="mid-epoch-every-stateful-part", marks=pytest.mark.slow),
    ],
)
def test_resume_after_an_interruption_reaches_the_same_weights(tmp_path, monkeypatch, stop_at_step, options):
    """Bit-exact: the data order, augmentation, mixup/cutmix draws, EMA and schedule continue where they stopped.

    Both runs share the code, so the resumed steps are also checked against figures worked out here: the
    batches of the epoch's permutation, the one-cycle rate of each step, and the count of steps and EMA updates.
    """
    from convzoo.training.engine import Trainer

    uninterrupted = train(_config(tmp_path, "straight", **options))

    def stop(state):
        if state.global_step == stop_at_step:  # 8 steps per epoch: 8 is the end of epoch 1, 11 is mid epoch 2
            raise KeyboardInterrupt

    interrupted = train(_config(tmp_path, "resumed", **options), on_step=stop)
    assert interrupted.interrupted
    saved = load_checkpoint(tmp_path / "resumed" / "last.pt")
    assert saved.training["train_state"]["global_step"] == stop_at_step
    seen, train_batch = [], Trainer.train_batch

    def watched(self, images, labels):
        seen.append((self.state.global_step, self.optimizer.param_groups[0]["lr"], labels.clone()))
        train_batch(self, images, labels)

    monkeypatch.setattr(Trainer, "train_batch", watched)
    resumed = train(_config(tmp_path, "resumed", resume=True, **options))
    monkeypatch.undo()
    assert not resumed.interrupted and resumed.final["epoch"] == 2
    _check_resumed_steps(seen, stop_at_step, saved=load_checkpoint(tmp_path / "resumed" / "last.pt"))
    straight, after = (
        load_checkpoint(tmp_path / "straight" / "last.pt"),
        load_checkpoint(tmp_path / "resumed" / "last.pt"),
    )
    assert all(torch.equal(straight.model_state[key], after.model_state[key]) for key in straight.model_state)
    if options.get("ema"):
        assert all(torch.equal(straight.ema_state[key], after.ema_state[key]) for key in straight.ema_state)
    assert resumed.final["test_top1"] == uninterrupted.final["test_top1"]
    assert resumed.final["train_loss"] == uninterrupted.final["train_loss"]


def _one_cycle_rate(step: int, total: int = 16, peak: float = 0.2) -> float:
    """torch's OneCycleLR as configured (15% warm-up from peak/10, down to peak/1000, cosine-shaped halves)."""
    top = 0.15 * total - 1  # the warm-up ends at this (fractional) step
    start, end, fraction = (
        (peak / 10, peak, step / top) if step <= top else (peak, peak / 1000, (step - top) / (total - 1 - top))
    )
    return end + (start - end) / 2 * (1 + math.cos(math.pi * fraction))


def _check_resumed_steps(seen, stop_at_step: int, saved) -> None:
    """The resumed run took steps ``stop_at_step`` .. 15, each on the batch the epoch's permutation puts there
    (8 steps of 256 per epoch; epoch e shuffled by ``epoch_order(seed 0, e)``) at the one-cycle rate of its step."""
    from convzoo.data import load_dataset
    from convzoo.data.loader import epoch_order

    labels = load_dataset("fashion-mnist-mini").train_labels
    assert [step for step, _, _ in seen] == list(range(stop_at_step, 16))
    for step, rate, batch in seen:
        epoch, index = divmod(step, 8)
        order = epoch_order(len(labels), shuffle=True, seed=0, epoch=epoch)
        assert torch.equal(batch, labels[order[index * 256 : (index + 1) * 256]]), step
        assert rate == pytest.approx(_one_cycle_rate(step), rel=1e-9), step
    training = saved.training
    assert training["train_state"]["global_step"] == 16
    assert training["schedule_state"]["last_epoch"] == 16
    if saved.ema_state is not None:
        assert training["ema_updates"] == 16


def test_a_training_step_follows_the_gradient_of_its_own_batch(tmp_path):
    """The engine's gradient after step 2 against one computed by hand at the weights before it.

    Catches gradients that accumulate over steps (a missing ``zero_grad``), a different loss or input
    preparation: each gives another gradient.
    """
    import copy

    import torch.nn.functional as F

    from convzoo.runtime import Context
    from convzoo.training.engine import Trainer

    trainer = Trainer(_config(tmp_path, epochs=1, crop_padding=0, flip=False), Context())
    try:
        batches = trainer.train_loader.batches()
        trainer.train_batch(*next(batches))
        images, labels = next(batches)
        before = copy.deepcopy(trainer.model)
        trainer.train_batch(images, labels)
    finally:
        trainer.lock.release()
    expected = F.cross_entropy(before(trainer.adapter(images)), labels, label_smoothing=trainer.config.label_smoothing)
    expected.backward()
    for (name, ours), reference in zip(trainer.model.named_parameters(), before.parameters(), strict=True):
        assert torch.allclose(ours.grad, reference.grad, rtol=1e-4, atol=1e-7), name


@pytest.mark.slow  # trains or starts processes: the slow tier (keeps make test under 10 min on AVX2)
def test_an_existing_run_is_never_overwritten(tmp_path):
    train(_config(tmp_path, epochs=1))
    checkpoint = tmp_path / "run" / "last.pt"
    before = checkpoint.read_bytes()
    with pytest.raises(CheckpointError, match="already holds a run"):
        train(_config(tmp_path, epochs=1))
    with pytest.raises(CheckpointError, match="is for cifar_resnet20 with 10 classes"):
        train(_config(tmp_path, model="cifar_resnet32", epochs=2, resume=True))
    with pytest.raises(CheckpointError, match="was started with --epochs 1; resume with the same values"):
        train(_config(tmp_path, epochs=3, resume=True))
    assert checkpoint.read_bytes() == before
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(_config(tmp_path, "empty", resume=True))


def test_checkpoints_are_atomic_and_checked(tmp_path):
    path = tmp_path / "c.pt"
    spec = ckpt.ModelSpec("cifar_resnet20", {"num_classes": 10}, list("abcdefghij"), [0.5], [0.5], 1, 28, 1)
    ckpt.save(path, ckpt.Checkpoint(spec, {"w": torch.zeros(2)}))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind
    assert ckpt.load(path).model == spec
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)
    torch.save({"fc.weight": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a convzoo checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


@pytest.mark.slow
def test_every_option_runs(tmp_path):
    result = train(
        _config(
            tmp_path,
            model="mobilenet_v2",
            epochs=1,
            optimizer="adamw",
            schedule="cosine",
            ema=0.99,
            mixup=0.2,
            cutmix=1.0,
            random_erasing=0.25,
            grad_clip=1.0,
            channels_last=True,
            amp="auto",
            drop_path_rate=None,
            precise_bn=2,
        )
    )
    assert result.final["epoch"] == 1
    checkpoint = load_checkpoint(result.run_dir / "last.pt")
    assert checkpoint.ema_state is not None and checkpoint.model.kwargs["small_input"] is True


@pytest.mark.slow  # trains or starts processes: the slow tier (keeps make test under 10 min on AVX2)
def test_fine_tuning_from_a_checkpoint_with_a_frozen_backbone(tmp_path):
    first = train(_config(tmp_path, "first", epochs=1))
    start = load_checkpoint(first.run_dir / "last.pt").model_state
    tuned = train(_config(tmp_path, "tuned", epochs=1, weights=str(first.run_dir / "last.pt"), freeze_backbone=True))
    after = load_checkpoint(tuned.run_dir / "last.pt").model_state
    assert torch.equal(after["stem.0.weight"], start["stem.0.weight"])
    assert not torch.equal(after["head.fc.weight"], start["head.fc.weight"])


@pytest.mark.slow
def test_fine_tuning_from_a_torchvision_state_dict(tmp_path):
    import torchvision

    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    result = train(
        _config(tmp_path, model="resnet18", epochs=1, weights=str(tmp_path / "resnet18.pth"), batch_size=512)
    )
    spec = load_checkpoint(result.run_dir / "last.pt").model
    assert "small_input" not in spec.kwargs  # released weights keep the 7x7 stem
    assert spec.min_size == 32 and spec.in_chans == 1


# Per-sample layers only (LayerNorm, no batch norm), no augmentation, dropout or stochastic depth: then two
# processes with half the global batch each must reach the weights of one process with the whole batch.
# Broken sharding (both ranks on the same images) or gradients summed instead of averaged moves them by
# ~1e-2; summation order alone by ~1e-6.
EXACT_DDP = {
    "model": "convnext_tiny",
    "epochs": 1,
    "batch_size": 16,
    "steps_per_epoch": 3,
    "crop_padding": 0,
    "flip": False,
    "drop_rate": 0.0,
    "drop_path_rate": 0.0,
}


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo")
@pytest.mark.slow
def test_two_processes_with_torchrun_reach_the_weights_of_one(tmp_path):
    options = [f"--{key.replace('_', '-')}={value}" for key, value in EXACT_DDP.items() if key != "flip"]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "convzoo",
        "train",
        *options,
        "--no-flip",
        "--amp",
        "none",
        "--no-progress",
        "--out",
        str(tmp_path / "ddp"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert completed.returncode == 0, (
        completed.stderr[:1500] + "\n...\n" + completed.stderr[-1500:]
    )  # a rank's own error comes first
    rows = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1]  # written once, by rank 0
    assert completed.stdout.count("done: test top-1") == 1  # printed once, by rank 0
    single = train(_config(tmp_path, "single", **EXACT_DDP))
    together = load_checkpoint(tmp_path / "ddp" / "last.pt").model_state
    alone = load_checkpoint(single.run_dir / "last.pt").model_state
    torch.manual_seed(0)  # the engine's seed before it builds the model: the starting weights
    start = ckpt.load(single.run_dir / "last.pt").model.build().state_dict()
    for key, tensor in alone.items():
        moved = (tensor - start[key]).abs().max()  # how far training moved this tensor
        assert (together[key] - tensor).abs().max() <= 1e-3 * moved + 1e-6, key


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"epochs": 0}, "--epochs must be an integer in [1, 100,000], got 0 (out of range)"),
        ({"batch_size": -4}, "--batch-size must be an integer in [1, 65,536]"),
        ({"optimizer": "lamb"}, "--optimizer must be one of sgd, adamw, got 'lamb'"),
        ({"label_smoothing": 1.5}, "--label-smoothing must be in [0, 1)"),
        ({"lr": -0.1}, "--lr must be a finite number above 0"),
    ],
)
def test_the_config_checks_itself_for_every_entry_point(overrides, message):
    from convzoo.errors import OptionError

    with pytest.raises(OptionError, match=re.escape(message)):
        TrainConfig(**overrides)


@pytest.mark.slow  # trains or starts processes: the slow tier (keeps make test under 10 min on AVX2)
def test_freeze_epochs_train_only_the_classifier_first_then_everything(tmp_path, monkeypatch):
    """Linear probing, then fine-tuning: after the frozen epoch the backbone (weights and batch-norm statistics)
    is exactly the starting one while the classifier moved; one epoch later the backbone has moved too."""
    from convzoo.training.engine import Trainer

    seen = {}
    build = Trainer._build

    def build_and_remember(self, *args):
        build(self, *args)
        seen["model"], seen["start"] = self.model, {k: v.clone() for k, v in self.model.state_dict().items()}

    def after_step(state):
        if state.global_step == 2:  # the last step of the frozen first epoch
            seen["probed"] = {k: v.clone() for k, v in seen["model"].state_dict().items()}

    monkeypatch.setattr(Trainer, "_build", build_and_remember)
    train(_config(tmp_path, epochs=2, steps_per_epoch=2, freeze_epochs=1, schedule="cosine"), on_step=after_step)
    start, probed, end = seen["start"], seen["probed"], seen["model"].state_dict()
    backbone = [k for k in start if not k.startswith("head.fc.") and not k.endswith("num_batches_tracked")]
    assert all(torch.equal(start[k], probed[k]) for k in backbone)  # frozen, running statistics included
    assert not torch.equal(start["head.fc.weight"], probed["head.fc.weight"])
    assert any(not torch.equal(probed[k], end[k]) for k in backbone if k.endswith("weight"))


def test_fine_tuning_defaults_and_the_classifiers_learning_rate():
    from convzoo.factory import create_model
    from convzoo.models import resnet  # noqa: F401  (registers resnet18)
    from convzoo.training.optim import build_optimizer

    tuned = TrainConfig(model="resnet18", weights="w.pth").resolved(224, "folder:x", streamed=True)
    assert (tuned.optimizer, tuned.schedule, tuned.batch_size, tuned.head_lr_scale) == ("adamw", "cosine", 32, 10.0)
    assert tuned.lr == pytest.approx(5e-4 * 32 / 128)
    scratch = TrainConfig(model="resnet18").resolved(28, "fashion-mnist")
    assert (scratch.optimizer, scratch.schedule, scratch.batch_size, scratch.head_lr_scale) == (
        "sgd",
        "onecycle",
        128,
        1.0,
    )
    model = create_model("resnet18", num_classes=5)
    groups = build_optimizer(model, tuned).param_groups
    head = {id(p) for p in model.head.fc.parameters()}
    for group in groups:
        is_head = {id(p) for p in group["params"]} <= head
        assert group["lr"] == pytest.approx(tuned.lr * (10 if is_head else 1))
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
