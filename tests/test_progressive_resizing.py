# SPDX-License-Identifier: MIT
"""Progressive resizing: which side each epoch trains at, that the model really sees it, and its refusals."""

import re

import numpy as np
import pytest
import torch

from convzoo.errors import OptionError
from convzoo.training import TrainConfig, train
from convzoo.training.resizing import resize_batch, training_side


@pytest.mark.parametrize(
    "epochs, start, until, sides",
    [
        (8, 16, 0.5, [16, 20, 24, 24, 28, 28, 28, 28]),  # 16 + 12·e/4 = 16, 19, 22, 25 -> multiples of 4
        (10, 16, 0.6, [16, 16, 20, 24, 24, 24, 28, 28, 28, 28]),  # 16 + 12·e/6 = 16, 18, 20, 22, 24, 26
        (2, 16, 0.5, [16, 28]),
        (4, 28, 0.5, [28, 28, 28, 28]),  # no smaller start: nothing shrinks
        (4, None, 0.5, [28, 28, 28, 28]),
        (3, 12, 0.0, [28, 28, 28]),  # a zero-length ramp: full size from the start
    ],
)
def test_the_side_grows_linearly_to_full_size_by_the_given_fraction_of_epochs(epochs, start, until, sides):
    assert [training_side(epoch, epochs, 28, start, until) for epoch in range(epochs)] == sides


def test_a_batch_is_shrunk_whole_keeping_its_aspect_and_never_enlarged():
    images = torch.rand(2, 3, 40, 60)
    shrunk = resize_batch(images, 20)
    assert shrunk.shape == (2, 3, 20, 30)
    # the whole image, filtered down as Pillow's antialiased bilinear resize does (an independent implementation)
    from PIL import Image

    channel = images[0, 0].numpy()
    expected = Image.fromarray(channel, mode="F").resize((30, 20), Image.Resampling.BILINEAR)
    assert torch.allclose(shrunk[0, 0], torch.from_numpy(np.array(expected)), atol=1e-4)
    assert resize_batch(images, 48) is images


@pytest.mark.slow  # trains or starts processes: the slow tier (keeps make test under 10 min on AVX2)
def test_early_epochs_train_on_shrunk_images_and_the_last_at_full_size(tmp_path):
    sides: list[int] = []
    config = TrainConfig(
        model="cifar_resnet20",
        epochs=3,
        batch_size=128,
        steps_per_epoch=3,
        amp="none",
        progress=False,
        out=str(tmp_path / "run"),
        progressive_resize=16,
        progressive_until=0.67,
    )
    from convzoo.runtime import Context
    from convzoo.training.engine import Trainer

    trainer = Trainer(config, Context())
    first_conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
    hook = first_conv.register_forward_pre_hook(lambda _m, inputs: sides.append(inputs[0].shape[-1]))
    try:
        result = trainer.fit()
    finally:
        hook.remove()
        trainer.lock.release()
    # ramp over floor(0.67·3) = 2 epochs: 16, then 16 + 12/2 = 22 -> 24, then full size
    assert [row["train_side"] for row in result.history] == [16, 24, 28]
    # 3 training steps at 16, then 3 at 24; epoch 3's training and every evaluation at the full 28
    assert sides[:3] == [16, 16, 16] and sides.count(16) == 3 and sides.count(24) == 3
    assert set(sides) == {16, 24, 28}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"progressive_resize": 4}, "--progressive-resize 4 is below cifar_resnet20's smallest input side, 8 px"),
        ({"progressive_until": 1.0}, "--progressive-until must be in [0, 1), got 1.0"),
        ({"progressive_resize": -1}, "--progressive-resize must be an integer in [0, 8,192] (pixels; 0: off), got -1"),
    ],
)
def test_impossible_progressive_settings_are_refused_in_one_line(tmp_path, overrides, message):
    with pytest.raises(OptionError, match=re.escape(message)):
        train(TrainConfig(model="cifar_resnet20", epochs=1, out=str(tmp_path / "run"), progress=False, **overrides))
