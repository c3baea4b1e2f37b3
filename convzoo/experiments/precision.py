# SPDX-License-Identifier: MIT
"""How short runs train on this machine: the device, the precision and the memory format, chosen by measurement.

The one precision choice of convzoo's short runs: the lab's experiments and compare's learns-check ask it, and
it is measured once per process (the demo's parts share one measurement).

Every minute of a lab run should go into training, and which settings are fastest depends on the machine:
on a CPU with native bf16 (AVX-512 BF16, AMX) bf16 autocast with channels-last can train a small ResNet
nearly twice as fast as fp32, while on an AVX2-only CPU bf16 is emulated and slower than fp32. So nothing is
assumed: before an experiment trains, one training step of a probe network is timed in each candidate
setting, side by side in one process, and the fastest is kept, but only when it beats plain fp32 NCHW by
:data:`MIN_GAIN` (below that the switch is inside the timing noise and fp32's exactness is worth more).
The choice and the timings go into the run's record.

bf16 is a candidate only where the hardware runs it natively (CUDA, or a CPU with AVX-512 BF16/AMX);
gradient norms the gradients experiment reports are measured in float64 whatever the training precision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial

import torch

from .. import runtime
from ..bench.timing import time_interleaved
from ..data.fashion_mnist import NUM_CLASSES
from ..errors import OptionError
from ..factory import create_model
from ..training.short_run import Data, Recipe, train  # the short runs' own loop is what is timed

MIN_GAIN = 1.10  # a setting other than fp32 NCHW is taken only when its step is this much faster
PROBE_MODEL, PROBE_BATCH, PROBE_SIZE = "cifar_resnet20", 128, 28  # what is timed: the lab's typical step
ROUNDS = 3  # timed steps per candidate, interleaved across candidates (the median is kept)


@dataclass(frozen=True)
class Settings:
    """Where and how the lab's training steps run (plain data: it goes into each recipe and the record)."""

    device: str = "cpu"
    amp: str | None = None  # "bf16" for bf16 autocast; None for fp32
    channels_last: bool = False

    @property
    def label(self) -> str:
        precision = "bf16 autocast" if self.amp == "bf16" else "fp32"
        return f"{precision}, {'channels-last' if self.channels_last else 'NCHW'}, {self.device}"


def resolve_device(device: str) -> str:
    """``auto``: CUDA when there is a GPU, else the CPU (:func:`convzoo.runtime.resolve_device`)."""
    return runtime.resolve_device(device).type


def candidates(device: str, amp: str, layouts: tuple[bool, ...] = (False, True)) -> list[Settings]:
    """The settings worth timing for ``--amp`` ``amp`` (auto, none, bf16) on ``device`` in the memory ``layouts``
    (channels-last or not) the caller can use; fp32 NCHW first."""
    if amp not in ("auto", "none", "bf16"):
        raise OptionError(f"--amp must be auto, none or bf16, got {amp!r}")
    precisions = []
    if amp in ("auto", "none"):
        precisions.append(None)
    if amp in ("auto", "bf16") and runtime.resolve_amp(amp, torch.device(device)) == torch.bfloat16:
        precisions.append("bf16")
    return [Settings(device, precision, layout) for precision in precisions for layout in layouts]


def time_steps(settings: list[Settings], rounds: int = ROUNDS) -> list[float]:
    """Median seconds of one training step of the probe network in each setting, interleaved so that a machine
    that speeds up or slows down during the measurement affects every candidate alike."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(PROBE_BATCH, 1, PROBE_SIZE, PROBE_SIZE, generator=generator)
    labels = torch.randint(0, NUM_CLASSES, (PROBE_BATCH,), generator=generator)
    data = Data(images, labels, images, labels, [str(index) for index in range(NUM_CLASSES)])
    recipes = [
        Recipe(steps=1, warmup_steps=1, batch_size=PROBE_BATCH, image_size=PROBE_SIZE, **asdict(s)) for s in settings
    ]
    steps = {}
    for index, recipe in enumerate(recipes):
        torch.manual_seed(0)
        model = create_model(PROBE_MODEL, num_classes=NUM_CLASSES, in_chans=1)
        steps[index] = partial(train, model, data, recipe)
    # one warm-up call each (first-call allocations, kernel selection), then rounds interleaved across candidates
    timings = time_interleaved(steps, warmup=1, repeats=rounds, device=settings[0].device)
    return [timings[index].median for index in range(len(settings))]


_MEASURED: dict[tuple[Settings, ...], list[float]] = {}  # the step times of each set of candidates, this process


def choose(
    device: str = "auto", amp: str = "auto", *, measure: bool = True, layouts: tuple[bool, ...] = (False, True)
) -> tuple[Settings, dict]:
    """The fastest of :func:`candidates` and what was measured; ``measure=False`` (``--quick``) takes the first
    candidate untimed."""
    options = candidates(resolve_device(device), amp, layouts)
    if not measure or len(options) == 1:
        reason = "--quick" if not measure else "the only candidate"
        return options[0], {"measured": False, "reason": reason, "requested": {"device": device, "amp": amp}}
    key = tuple(options)
    if key not in _MEASURED:  # once per process: the demo's experiments share one measurement
        _MEASURED[key] = time_steps(options)
    seconds = _MEASURED[key]
    baseline, best = seconds[0], min(range(len(options)), key=seconds.__getitem__)
    chosen = options[best] if baseline / seconds[best] >= MIN_GAIN else options[0]
    return chosen, {
        "measured": True,
        "requested": {"device": device, "amp": amp},
        "probe": f"{PROBE_MODEL}, batch {PROBE_BATCH}, {PROBE_SIZE} px",
        "min_gain": MIN_GAIN,
        "step_seconds": {option.label: round(s, 4) for option, s in zip(options, seconds, strict=True)},
    }


def describe(settings: Settings, measurement: dict) -> str:
    """One sentence for the report: what trained how, and why."""
    if not measurement.get("measured"):
        return f"Training settings: {settings.label} (not timed: {measurement['reason']})."
    timings = "; ".join(f"{label}: {seconds * 1000:.0f} ms" for label, seconds in measurement["step_seconds"].items())
    return (
        f"Training settings: **{settings.label}**, chosen by timing one training step of {measurement['probe']} "
        f"side by side in each setting this machine runs natively: {timings}. A setting other than fp32 NCHW is "
        f"taken only when it is at least {measurement['min_gain']:.2f}× faster (`--amp none` forces fp32). "
        "Evaluation runs in fp32 whatever the setting."
    )


__all__ = ["MIN_GAIN", "Settings", "candidates", "choose", "describe", "resolve_device", "time_steps"]
