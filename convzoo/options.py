# SPDX-License-Identifier: MIT
"""Every numeric option's range, in one table: the CLI checks each command's options against it, and
:class:`~convzoo.training.TrainConfig` checks its fields against it, so ``--lr``, ``--budget`` or ``--seed`` mean
the same and fail the same wherever they are taken.

A rule says what a value must be where it is *used*, not only what ``int()`` or ``float()`` accept:

- finite: ``nan`` fails every comparison and ``inf`` parses as a float, so both passed ``--budget > 0`` checks
  and ran until stopped or raised deep inside;
- in range: ``--budget 1e308`` overflowed to an infinite number of seconds; a week is the longest budget a plan
  means anything for;
- representable: a learning rate, decay or clipping threshold is applied to float32 weights, where ``1e-50`` is
  0 (``float32=True`` refuses a value that rounds to 0 or to infinity there); a seed must fit the 64 bits that
  ``torch.manual_seed`` takes.

One table, rather than checks in each command, so a new command's ``--batch-size`` is checked the day it is
added (``tests/test_options.py`` fails on a numeric option without a rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import OptionError

WEEK_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class Rule:
    """An option's values: an integer or a float in ``[low, high]`` (``low_open``: above ``low``; ``high_open``:
    below ``high``), described in words for the message."""

    kind: type  # int or float
    low: float
    high: float
    meaning: str
    low_open: bool = False
    high_open: bool = False
    float32: bool = False  # applied to float32 tensors: must not round to 0 or infinity there

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or ``None``."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "not a number"
        if self.kind is int and not isinstance(value, int):
            return "not an integer"
        if isinstance(value, float) and not math.isfinite(value):
            return "not finite"
        below = value <= self.low if self.low_open else value < self.low
        above = value >= self.high if self.high_open else value > self.high
        if below or above:
            return "out of range"
        if self.float32 and value != 0 and (np.float32(value) == 0 or not np.isfinite(np.float32(value))):
            return "it rounds to 0 in float32"
        return None


def _count(low: int, high: int, meaning: str) -> Rule:
    return Rule(int, low, high, meaning)


def _fraction(meaning: str = "in [0, 1)") -> Rule:
    return Rule(float, 0.0, 1.0, meaning, high_open=True, float32=True)


def _scale(high: float, meaning: str) -> Rule:
    return Rule(float, 0.0, high, meaning, float32=True)


# option (the argparse dest, the TrainConfig field) -> its rule
RULES: dict[str, Rule] = {
    "budget": Rule(float, 0.0, WEEK_MINUTES, f"minutes above 0, at most {WEEK_MINUTES:,} (a week)", low_open=True),
    "batch_size": _count(1, 65_536, "an integer in [1, 65,536]"),
    "batch": _count(1, 65_536, "an integer in [1, 65,536]"),
    "epochs": _count(1, 100_000, "an integer in [1, 100,000]"),
    "steps_per_epoch": _count(1, 10**9, "an integer of at least 1"),
    "freeze_epochs": _count(0, 100_000, "an integer in [0, 100,000]"),
    "precise_bn": _count(0, 100_000, "an integer in [0, 100,000] (0: off)"),
    "seed": _count(0, 2**63 - 1, "an integer in [0, 2**63 - 1]"),
    "workers": _count(0, 256, "an integer in [0, 256]"),
    "image_size": _count(1, 8192, "an integer in [1, 8,192] (pixels)"),
    "size": _count(8, 8192, "an integer in [8, 8,192] (pixels)"),
    "progressive_resize": _count(0, 8192, "an integer in [0, 8,192] (pixels; 0: off)"),
    "crop_padding": _count(0, 1024, "an integer in [0, 1,024] (pixels; 0: off)"),
    "limit": _count(1, 10**8, "an integer of at least 1"),
    "imagenet_limit": _count(0, 10**8, "0 (all images) or a positive integer"),
    "calibration_batches": _count(1, 100_000, "an integer in [1, 100,000]"),
    "top": _count(1, 100_000, "an integer of at least 1 (how many classes to show per image)"),
    "repeats": _count(1, 100_000, "an integer in [1, 100,000]"),
    "warmup": _count(0, 100_000, "an integer in [0, 100,000]"),
    "depth": _count(0, 1000, "an integer in [0, 1,000]"),
    # no upper bound below float32's: a rate far too high is an experiment (the lab's divergence), not a typo
    "lr": Rule(float, 0.0, 1e30, "a finite number above 0 (e.g. 0.1)", low_open=True, float32=True),
    "head_lr_scale": _scale(1e6, "a number in [0, 1,000,000]"),
    "momentum": _fraction("in [0, 1) (e.g. 0.9)"),
    "weight_decay": _scale(1e30, "a finite number of at least 0 (0: off)"),
    "warmup_epochs": _scale(100_000, "a number in [0, 100,000]"),
    "label_smoothing": _fraction("in [0, 1) (0: off)"),
    "random_erasing": _fraction("in [0, 1) (0: off)"),
    "mixup": _scale(1e3, "a number in [0, 1,000] (0: off)"),
    "cutmix": _scale(1e3, "a number in [0, 1,000] (0: off)"),
    "grad_clip": _scale(1e30, "a finite number of at least 0 (0: off)"),
    "progressive_until": _fraction(),
    "ema": _fraction("in [0, 1) (e.g. 0.999)"),
    "drop_rate": _fraction(),
    "drop_path_rate": _fraction(),
}


def check_option(name: str, value: Any) -> None:
    """Raise :class:`OptionError` if ``value`` breaks ``name``'s rule (``None``, an unset option, passes)."""
    rule = RULES.get(name)
    if rule is None or value is None:
        return
    if isinstance(value, (list, tuple)):  # a list option (bench's --batch 1,16): each value obeys the rule
        for item in value:
            check_option(name, item)
        return
    problem = rule.problem(value)
    if problem is not None:
        large = isinstance(value, int) and value.bit_length() > 100  # repr of a 4,301-digit int raises
        shown = f"an integer of {value.bit_length():,} bits" if large else repr(value)
        raise OptionError(f"--{name.replace('_', '-')} must be {rule.meaning}, got {shown} ({problem})")


def check_options(values: dict[str, Any]) -> None:
    """Check every value in ``values`` (an argparse namespace's ``vars``, a config's fields) that has a rule."""
    for name, value in values.items():
        check_option(name, value)
