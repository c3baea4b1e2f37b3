# SPDX-License-Identifier: MIT
"""Fit the comparison to a time budget on *this* machine: measure first, then decide what to run.

The same comparison takes 9 minutes on a 2-core AMX machine with bf16 and over an hour on a 2-core
AVX2 machine in fp32. So ``compare --budget MINUTES`` first *probes* each model (one
batch-1 forward at 224 px, two training steps at the demo's batch: a few seconds per model), then
plans:

- the precision: bf16 autocast where the CPU has it natively (AVX-512 BF16 / AMX), fp32 elsewhere;
- the timed repeats of the speed measurements (2, or 1 when time is short);
- the training steps per model for the "learns on this data" check: the same number for every model
  (so the check is the same test for all), as many as fit up to one epoch of the embedded sample,
  at least ``MIN_STEPS``; models whose training cannot fit even then are left out of that check,
  most expensive first, each with the reason.

Estimates are deliberately conservative (a batch of 16 is costed as 16 batch-1 forwards), and the
runner re-checks the clock before every phase, so a wrong estimate leads to a phase skipped with a
reason, never to a run over budget. What the time left is, is decided once, by :func:`compare_budget`
(a :class:`~convzoo.budget.Budget`: ``SAFETY`` of what is left, less ``REPORT_SECONDS``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from functools import partial

import torch
import torch.nn.functional as F

from ..bench.timing import time_interleaved
from ..budget import Budget, steps_that_fit
from ..data.fashion_mnist import NUM_CLASSES
from ..errors import OptionError
from ..experiments import precision
from ..factory import create_model
from ..registry import wants_small_input
from ..runtime import cpu_kind, cpu_supports_bf16
from ..training.step import TrainingStep

SAFETY = 0.90  # plan for this fraction of the time left; the rest absorbs drift on shared machines
MIN_STEPS = 30  # fewer steps do not show learning for every family (measured: see docs/compare.md)
MAX_STEPS = 80  # about one epoch of the embedded sample at batch 64
REPORT_SECONDS = 15.0  # plots, Markdown and HTML at the end


@dataclass
class Probe:
    """Measured seconds for one model on this machine."""

    build_s: float  # create_model at the defaults (ImageNet layout)
    forward_b1_s: float  # one eager forward, batch 1, 3x224x224, fp32
    train_step_s: float  # one training step of the small-input variant at the demo's batch and precision


@dataclass
class ModelPlan:
    name: str
    speed: bool = True
    train_steps: int = 0  # 0: the "learns" check is left out
    reason: str = ""  # why something was left out
    estimate_s: dict[str, float] = field(default_factory=dict)  # per phase


@dataclass
class Plan:
    budget_s: float
    amp: str  # the optimized speed path's precision: "bf16" where this CPU runs it natively, else "none"
    repeats: int
    steps: int
    batch_size: int
    cpu: dict
    probe_s: float
    models: list[ModelPlan]
    learns_check: bool = True  # False: no training planned (``CompareConfig.learns_check``)
    train_amp: str = "none"  # the learns-check's precision, measured (:func:`training_amp`)

    @property
    def estimate_s(self) -> float:
        return self.probe_s + REPORT_SECONDS + sum(sum(m.estimate_s.values()) for m in self.models)

    def cuts(self) -> list[str]:
        """What was cut to fit, in words (empty when nothing was)."""
        lines = [f"{m.name}: {m.reason}" for m in self.models if m.reason]
        if self.learns_check and self.steps < MAX_STEPS and any(m.train_steps for m in self.models):
            lines.insert(0, f"training shortened to {self.steps} steps per model (of {MAX_STEPS}, one epoch)")
        if self.repeats < 2:
            lines.insert(0, "speed measured with 1 timed repeat (of 2)")
        return lines

    def describe(self) -> list[str]:
        precision = "bf16 autocast (measured faster here)" if self.train_amp == "bf16" else "fp32"
        lines = [
            (
                f"machine: {self.cpu['model']} [{self.cpu['label']}: {', '.join(self.cpu['isa']) or 'no AVX'}], "
                f"{torch.get_num_threads()} threads"
            ),
            (
                f"budget {self.budget_s / 60:.1f} min; probe took {self.probe_s:.0f} s; "
                f"plan estimated at {self.estimate_s / 60:.1f} min"
            ),
            (
                f"training: {precision}, {self.steps} steps of batch {self.batch_size} per model "
                f"(re-planned before training from the time then left); speed: {self.repeats} timed repeat(s), "
                f"optimized in {'bf16' if self.amp == 'bf16' else 'fp32'}"
                if self.learns_check
                else f"no learns-check (cost and speed only); speed: {self.repeats} timed repeat(s), optimized in "
                f"{'bf16' if self.amp == 'bf16' else 'fp32'}"
            ),
        ]
        return lines + [f"cut to fit: {line}" for line in self.cuts()]

    def as_dict(self) -> dict:
        return asdict(self) | {"estimate_s": round(self.estimate_s, 1), "cuts": self.cuts()}


def optimized_amp() -> str:
    """The optimized (deployment) path's precision: bf16 where this CPU runs it natively; AVX2 emulates it, slower."""
    return "bf16" if cpu_supports_bf16() else "none"


def training_amp(learns_check: bool) -> str:
    """The learns-check's precision: the short runs' one measured choice (:func:`convzoo.experiments.precision.choose`,
    shared with the lab, once per process); fp32 when nothing trains."""
    if not learns_check:
        return "none"
    settings, _ = precision.choose("cpu", "auto", layouts=(False,))  # the engine's default layout; AVX2: fp32 only
    return "bf16" if settings.amp == "bf16" else "none"


def probe_model(
    name: str, batch_size: int, amp: str, input_channels: int = 1, image_size: int = 28, *, train: bool = True
) -> Probe:
    """Time one build, one batch-1 forward at 224, and (``train``) a training step, after a warm-up of each; without
    ``train`` (no learns-check) the step is not timed and counts as 0."""
    start = time.perf_counter()
    model = create_model(name).eval()
    build_s = time.perf_counter() - start
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        forward_b1_s = time_interleaved({"forward": partial(model, x)}, warmup=1, repeats=1)["forward"].median
    del model
    if not train:
        return Probe(build_s, forward_b1_s, 0.0)
    small_input = wants_small_input(name, image_size)
    small = create_model(name, num_classes=NUM_CLASSES, in_chans=input_channels, small_input=small_input)
    small.train()
    optimizer = torch.optim.SGD(small.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(batch_size, input_channels, image_size, image_size)
    labels = torch.randint(0, NUM_CLASSES, (batch_size,))
    step = TrainingStep(small, optimizer, amp_dtype=torch.bfloat16 if amp == "bf16" else None)
    criterion = lambda logits: F.cross_entropy(logits.float(), labels)  # noqa: E731
    timing = time_interleaved({"step": partial(step, images, criterion)}, warmup=1, repeats=2)["step"]
    return Probe(build_s, forward_b1_s, min(timing.samples))  # the warm-up step pays for one-time set-up


def cost_estimate(probe: Probe, published_px: int = 224) -> float:
    """Parameter count, profile at 224 (about 2-3.5 forwards, measured in benchmarks/profile_speed.py), and again
    at the published figure's input size when that differs (cost grows with the pixel count)."""
    scale = 1 + ((published_px / 224) ** 2 if published_px != 224 else 0)
    return probe.build_s + 3.5 * probe.forward_b1_s * scale


def speed_estimate(probe: Probe, repeats: int, published_px: int = 224) -> float:
    """Batch 1 and 16, eager and optimized (folding verifies on two batches), each with one warm-up; plus batch 1
    at the published figure's input size when it is not 224 (cost grows with the pixel count)."""
    b16 = 16 * probe.forward_b1_s
    seconds = (1 + repeats) * probe.forward_b1_s + (1 + repeats) * b16 + 2 * b16 + (1 + repeats) * b16
    if published_px != 224:
        seconds += (1 + repeats) * probe.forward_b1_s * (published_px / 224) ** 2
    return seconds


def train_estimate(probe: Probe, steps: int, test_images: int, batch_size: int, precise_bn: int) -> float:
    forward = probe.train_step_s / 3  # a forward is about a third of a training step
    eval_batches = -(-test_images // max(batch_size, 256)) * max(batch_size, 256) / batch_size
    return probe.build_s + steps * probe.train_step_s + (precise_bn + eval_batches) * forward


def compare_budget(budget_s: float, spent_s: float = 0.0) -> Budget:
    """The comparison's clock and its one rule for time: plan for ``SAFETY`` of what is left, and keep
    ``REPORT_SECONDS`` for the report. The first plan, the re-plan of the training and each phase's last
    check all ask it."""
    return Budget(budget_s, spent_before=spent_s, safety=SAFETY, reserve_s=REPORT_SECONDS)


def make_plan(
    probes: dict[str, Probe],
    budget_s: float,
    probe_s: float,
    *,
    batch_size: int,
    amp: str,
    train_amp: str = "none",
    test_images: int = 1000,
    precise_bn: int = 8,
    published_px: dict[str, int] | None = None,
    learns_check: bool = True,
) -> Plan:
    """The most work that fits what :func:`compare_budget` leaves after the probe; see the module docstring.

    ``published_px``: the input size of each model's published top-1 where it is not 224 (timed there too).
    """
    available = compare_budget(budget_s).for_planning(elapsed=probe_s)
    px = published_px or {}
    cost = {name: cost_estimate(p, px.get(name, 224)) for name, p in probes.items()}
    if probe_s + sum(cost.values()) > budget_s:  # the cost columns are never cut: below them it cannot be met
        needed_s = (probe_s + sum(cost.values()) + REPORT_SECONDS) / SAFETY
        raise OptionError(
            f"--budget {budget_s / 60:g} cannot be met on this machine: probing the {len(probes)} models took "
            f"{probe_s:.0f} s and measuring their cost needs ~{sum(cost.values()):.0f} s more; give --budget "
            f"{math.ceil(needed_s / 6) / 10:g} or more, or fewer models"
        )
    repeats = 2
    speed = {name: speed_estimate(p, repeats, px.get(name, 224)) for name, p in probes.items()}
    if sum(cost.values()) + sum(speed.values()) > 0.6 * available:
        repeats = 1
        speed = {name: speed_estimate(p, repeats, px.get(name, 224)) for name, p in probes.items()}
    plans = {name: ModelPlan(name, estimate_s={"cost": cost[name], "speed": speed[name]}) for name in probes}
    # Speed of the most expensive models goes first if even the cheap columns do not fit.
    for name in sorted(probes, key=lambda n: -speed[n]):
        if sum(sum(p.estimate_s.values()) for p in plans.values()) <= available:
            break
        plans[name].speed, plans[name].estimate_s["speed"] = False, 0.0
        plans[name].reason = f"speed left out: needs ~{speed[name]:.0f} s, more than the budget leaves"
    left = available - sum(sum(p.estimate_s.values()) for p in plans.values())
    models = [plans[n] for n in probes]
    plan = Plan(budget_s, amp, repeats, 0, batch_size, cpu_kind(), probe_s, models, learns_check, train_amp)
    if learns_check:
        plan_training(plan, probes, left, test_images=test_images, precise_bn=precise_bn)
    return plan


LEFT_OUT = "learns-check left out"


def plan_training(
    plan: Plan, probes: dict[str, Probe], left_s: float, *, test_images: int = 1000, precise_bn: int = 8
) -> None:
    """Choose one step count for all trained models so their training fits ``left_s``; drop the dearest first.

    Called when the plan is made, and again just before the training phase with the time really left
    (the cost and speed phases are measured by then), so estimates made early cost no budget.
    """
    batch_size = plan.batch_size
    for model in plan.models:
        model.train_steps = 0
        model.estimate_s.pop("train", None)
        model.reason = "; ".join(part for part in model.reason.split("; ") if part and not part.startswith(LEFT_OUT))
    trained = sorted((m.name for m in plan.models), key=lambda n: probes[n].train_step_s)
    steps = 0
    while trained:
        fixed = sum(train_estimate(probes[n], 0, test_images, batch_size, precise_bn) for n in trained)
        per_step = sum(probes[n].train_step_s for n in trained)
        steps = steps_that_fit(left_s, per_step, maximum=MAX_STEPS, fixed_s=fixed)
        if steps >= MIN_STEPS:
            break
        dropped = trained.pop()  # the most expensive to train
        need = train_estimate(probes[dropped], MIN_STEPS, test_images, batch_size, precise_bn)
        model = next(m for m in plan.models if m.name == dropped)
        model.reason = "; ".join(
            filter(None, [model.reason, f"{LEFT_OUT}: {MIN_STEPS} steps need ~{need:.0f} s of this budget"])
        )
    for model in plan.models:
        if model.name in trained:
            model.train_steps = steps
            model.estimate_s["train"] = train_estimate(probes[model.name], steps, test_images, batch_size, precise_bn)
    plan.steps = steps if trained else 0
