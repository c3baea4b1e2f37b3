# SPDX-License-Identifier: MIT
"""Checks against figures computed independently of the code under test: by hand, or from a published formula.

Other tests compare the code with its own earlier output (``metrics.jsonl`` written by the same
``evaluate``) or with a reference library that may share a convention; neither notices a confusion matrix
stored transposed, a top-5 that is top-1, a warm-up one step late or DropPath without its rescaling. Each
test here names what it would catch; ``scripts/mutation_check.py`` plants those faults and checks that it does.
"""

from __future__ import annotations

import contextlib
import math

import pytest
import torch
from torch import nn

import convzoo
from convzoo.data import BatchLoader, InputAdapter
from convzoo.evaluation import evaluate
from convzoo.layers.drop_path import DropPath
from convzoo.runtime import Context
from convzoo.training import TrainConfig
from convzoo.training.optim import build_schedule

# --- evaluation -------------------------------------------------------------------------------------------
# Seven images, six classes. Each image carries its own index as its pixel value, and the model returns the
# logits of that row, so every figure below can be worked out on paper.
LOGITS = [
    [5, 4, 3, 2, 1, 0],  # label 0: predicted 0 (right)
    [4, 5, 3, 2, 1, 0],  # label 0: predicted 1, the label is 2nd (in the top 5)
    [0, 5, 4, 3, 2, 1],  # label 0: predicted 1, the label is 6th (not in the top 5)
    [1, 6, 0, 2, 3, 4],  # label 1: predicted 1 (right)
    [0, 1, 2, 3, 4, 5],  # label 2: predicted 5, the label is 4th (in the top 5)
    [0, 0.5, 1, 9, 2, 3],  # label 3: predicted 3 (right)
    [3, 2, 1, 0, -1, -2],  # label 5: predicted 0, the label is 6th (not in the top 5)
]
LABELS = [0, 0, 0, 1, 2, 3, 5]
CLASSES = ["a", "b", "c", "d", "e", "f"]


class FixedLogits(nn.Module):
    """Returns ``LOGITS[i]`` for the image whose pixel is ``i`` (the adapter maps it to ``i / 255``)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("table", torch.tensor(LOGITS, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = (x[:, 0, 0, 0] * 255).round().long()
        return self.table[index]


def _hand_cross_entropy(logits: list[float], label: int) -> float:
    return -logits[label] + math.log(sum(math.exp(v) for v in logits))


def test_evaluation_against_a_hand_computation():
    """Loss, top-1, top-5, per-class accuracy and the confusion matrix (rows true class, columns predicted).

    Batches of 3 (3 + 3 + 1 images) so that averaging per batch instead of per image changes the loss.
    """
    images = torch.arange(len(LABELS), dtype=torch.uint8).view(-1, 1, 1, 1)
    loader = BatchLoader(images, torch.tensor(LABELS), 3)
    adapter = InputAdapter(1, 1, (0.0,), (1.0,))
    result = evaluate(FixedLogits(), adapter, loader, classes=CLASSES, context=Context())

    assert result.count == 7
    assert result.top1 == pytest.approx(3 / 7)  # images 0, 3 and 5
    assert result.top5 == pytest.approx(5 / 7)  # all but images 2 and 6
    expected_loss = sum(_hand_cross_entropy(row, label) for row, label in zip(LOGITS, LABELS, strict=True)) / 7
    assert result.loss == pytest.approx(expected_loss, rel=1e-6)
    confusion = torch.zeros(6, 6, dtype=torch.int64)  # [true, predicted], counted from the comments above
    confusion[0, 0], confusion[0, 1], confusion[1, 1] = 1, 2, 1
    confusion[2, 5], confusion[3, 3], confusion[5, 0] = 1, 1, 1
    assert torch.equal(result.confusion, confusion)
    # right answers over the class's images; class e has none and reads 0
    assert result.per_class == pytest.approx({"a": 1 / 3, "b": 1.0, "c": 0.0, "d": 1.0, "e": 0.0, "f": 0.0})
    assert result.as_dict()["confusion"][0] == [1, 2, 0, 0, 0, 0]  # the JSON keeps the orientation


# --- learning-rate schedules ------------------------------------------------------------------------------
def _rates(config: TrainConfig, steps_per_epoch: int, peak: float) -> list[float]:
    """The learning rate in force at each optimizer step 0 .. total - 1."""
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [parameter], "lr": peak}], lr=peak, momentum=0.9)
    schedule = build_schedule(optimizer, config, steps_per_epoch)
    rates = []
    for _ in range(config.epochs * steps_per_epoch):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


def test_warmup_cosine_schedule_follows_its_formula():
    """Linear warm-up reaching the peak at the last warm-up step, then half a cosine period down to zero.

    3 epochs of 10 steps, 1 warm-up epoch: W = 10 steps of warm-up, T = 30 in all;
    rate(s) = peak · (s + 1) / W for s < W, else peak · ½ (1 + cos(π (s − W) / (T − W))).
    """
    config = TrainConfig(model="cifar_resnet20", epochs=3, schedule="cosine", warmup_epochs=1.0)
    rates = _rates(config, 10, peak=0.4)
    assert rates[0] == pytest.approx(0.04)  # first step: 1/10 of the peak, not 0
    assert rates[4] == pytest.approx(0.2)
    assert rates[9] == pytest.approx(0.4)  # warm-up ends at the peak, on step W - 1
    assert rates[10] == pytest.approx(0.4)  # cosine starts at its top
    assert rates[15] == pytest.approx(0.4 * 0.5 * (1 + math.cos(math.pi / 4)))  # 0.3414, not linear's 0.3
    assert rates[20] == pytest.approx(0.2)  # halfway through the decay
    assert rates[29] == pytest.approx(0.4 * 0.5 * (1 + math.cos(math.pi * 19 / 20)))
    for step in range(30):
        expected = 0.4 * ((step + 1) / 10 if step < 10 else 0.5 * (1 + math.cos(math.pi * (step - 10) / 20)))
        assert rates[step] == pytest.approx(expected), step


def test_one_cycle_schedule_follows_its_formula():
    """One cycle (Smith & Topin 2017) as configured: from peak/10 up to the peak over the first 15% of the steps,
    then down to peak/1000, both halves cosine-shaped.

    100 steps: the peak is at step 0.15 · 100 − 1 = 14; rate(s) = a + (b − a) · ½ (1 − cos(π f)) with f the
    fraction of the half done, (a, b) = (peak/10, peak) up to step 14 and (peak, peak/1000) after it.
    """
    config = TrainConfig(model="cifar_resnet20", epochs=2, schedule="onecycle")
    rates = _rates(config, 50, peak=1.0)

    def expected(step: int) -> float:
        if step <= 14:
            low, high, fraction = 0.1, 1.0, step / 14
        else:
            low, high, fraction = 1.0, 0.001, (step - 14) / (99 - 14)
        return low + (high - low) * 0.5 * (1 - math.cos(math.pi * fraction))

    assert rates[0] == pytest.approx(0.1)
    assert rates[7] == pytest.approx(0.55)  # halfway up: the mean of peak/10 and the peak
    assert max(rates) == pytest.approx(1.0) and rates.index(max(rates)) == 14
    assert rates[99] == pytest.approx(0.001)
    for step in range(100):
        assert rates[step] == pytest.approx(expected(step), rel=1e-6), step


# --- exponential moving average of the weights ------------------------------------------------------------
def test_ema_is_the_exponential_average_of_the_weights_after_each_step(tmp_path):
    """After steps 1..n, EMA = w_1 for n = 1, then decay · EMA + (1 − decay) · w_n (torch's
    ``get_ema_multi_avg_fn`` convention: ``decay`` is the weight of the old average). Computed here from the
    trainer's weights after each step, so a decay passed as ``1 - decay`` or an update missed shows."""
    from convzoo.training.engine import Trainer

    decay = 0.9
    config = TrainConfig(
        model="cifar_resnet20",
        epochs=1,
        batch_size=32,
        steps_per_epoch=4,
        amp="none",
        ema=decay,
        optimizer="sgd",
        lr=0.2,
        out=str(tmp_path / "run"),
        progress=False,
    )
    trainer = Trainer(config, Context())
    try:
        weights = []
        for step, (images, labels) in enumerate(trainer.train_loader.batches(0)):
            if step == 4:
                break
            trainer.train_batch(images, labels)
            weights.append({k: v.detach().clone() for k, v in trainer.model.state_dict().items()})
        averaged = trainer.ema.module.state_dict()
    finally:
        trainer.lock.release()

    floats = [k for k, v in weights[0].items() if v.is_floating_point()]
    moved = max(float((weights[3][k] - weights[0][k]).abs().max()) for k in floats)
    assert moved > 1e-3, "the weights barely moved: the check could not tell decays apart"
    expected = {k: weights[0][k].clone() for k in floats}
    for later in weights[1:]:
        for k in floats:
            expected[k] = decay * expected[k] + (1 - decay) * later[k]
    for k in floats:
        torch.testing.assert_close(averaged[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)


# --- stochastic depth --------------------------------------------------------------------------------------
def test_drop_path_scales_kept_samples_by_one_over_keep():
    """Each sample is either all zeros or exactly x / keep (keep = 1 - p), whole samples at a time."""
    torch.manual_seed(0)
    layer = DropPath(0.25).train()
    x = torch.rand(256, 3, 4, 4) + 0.5
    out = layer(x)
    kept = out.flatten(1).ne(0).all(1)
    dropped = out.flatten(1).eq(0).all(1)
    assert bool((kept | dropped).all())  # never a partly dropped sample
    assert 0 < int(dropped.sum()) < 256
    torch.testing.assert_close(out[kept], x[kept] / 0.75, rtol=1e-6, atol=0)
    assert torch.equal(layer.eval()(x), x)  # evaluation: the branch always runs, unscaled


def test_drop_path_preserves_the_expectation():
    """Over n samples the mean output is the input within 5 standard errors: an output is 1/keep with
    probability keep, else 0, so its variance is 1/keep − 1 = p/keep and the mean's standard error
    sqrt(p / (keep · n))."""
    torch.manual_seed(0)
    p, n = 0.25, 200_000
    out = DropPath(p).train()(torch.ones(n, 1))
    standard_error = math.sqrt(p / ((1 - p) * n))  # 0.0013 for these n and p
    assert abs(float(out.mean()) - 1.0) < 5 * standard_error


# --- option-A shortcut -------------------------------------------------------------------------------------
def test_option_a_shortcut_is_strided_sampling_padded_with_zero_channels():
    """He et al. 2015, option A: where a stage halves the map and doubles the channels, the shortcut is
    x[:, :, ::2, ::2] (top-left pixel of each 2×2 cell) followed by as many all-zero channels."""
    model = convzoo.create_model("cifar_resnet20", num_classes=10)
    shortcuts = [m for m in model.modules() if type(m).__name__ == "ZeroPadShortcut"]
    assert len(shortcuts) == 2  # 16 → 32 and 32 → 64 channels
    torch.manual_seed(0)
    for shortcut, channels in zip(shortcuts, (16, 32), strict=True):
        x = torch.randn(2, channels, 8, 8)
        expected = torch.cat([x[:, :, ::2, ::2], torch.zeros(2, channels, 4, 4)], dim=1)
        assert torch.equal(shortcut(x), expected)


# --- checkpoints are data ----------------------------------------------------------------------------------
class _CreatesAFile:
    """Unpickling this calls ``open(path, "w")``: the file appearing is the evidence that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_reading_a_crafted_checkpoint_runs_no_code(tmp_path):
    """The evidence is on disk, checked whatever the reader raised: an unpickler that runs the payload and then
    crashes on the result would otherwise fail as an error, indistinguishable from a broken test."""
    from convzoo import checkpoint as ckpt

    marker = tmp_path / "ran"
    crafted = tmp_path / "crafted.pt"
    torch.save({"format": "convzoo-checkpoint", "version": 2, "model": _CreatesAFile(marker)}, crafted)
    with contextlib.suppress(Exception):  # refusing is right; only the marker decides
        ckpt.load(crafted)
    assert not marker.exists(), "reading the checkpoint ran code from it"


# --- input normalization -----------------------------------------------------------------------------------
def test_input_adapter_normalizes_with_the_datasets_mean_and_std():
    """uint8 → (x / 255 − mean) / std per channel, worked out for three pixel values and two channels."""
    images = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 1, 3).repeat(1, 3, 1, 1)
    adapter = InputAdapter(3, 3, (0.5, 0.2, 0.0), (0.25, 0.5, 1.0))
    expected = torch.tensor([[-2.0, -1.2, 2.0], [-0.4, 0.0, 1.6], [0.0, 0.2, 1.0]]).view(1, 3, 1, 3)
    torch.testing.assert_close(adapter(images), expected)
