# SPDX-License-Identifier: MIT
"""A comparison: the lecture's line-up measured on this machine, within a time budget, as a report.

:func:`run` is the library call that ``convzoo compare``, ``convzoo demo`` and a notebook make alike: a
:class:`CompareConfig`, optionally the caller's :class:`~convzoo.budget.Budget`, a callback for progress
(:class:`Event`) and a stop event; it returns the :class:`Results`, partial when it was stopped.

For each model, in phases:

- ``cost``: parameters, fp32 weight size, GMACs and activation memory at 224 (cheap and exact);
- ``speed``: CPU latency at batch 1, throughput at batch 16, eager (fp32) and optimized (bf16 where this
  CPU has it natively, fp32 elsewhere); batch-1 latency also at the input size of the published top-1
  where that is not 224;

Each row also carries the published ImageNet-1k top-1 of the model's released weights (read from the
weights table, marked as published everywhere), so the report can set accuracy against cost and speed
measured here and draw the frontier (:mod:`convzoo.report.frontier`).
- ``imagenet`` (only with ``--imagenet PATH``): top-1 of the published column's weights measured on a local
  ImageNet validation set (:mod:`convzoo.compare.imagenet`);
- ``train``: the "learns on this data" check: the small-input variant trained for the planned number
  of steps on the embedded sample, then tested. It passes when test top-1 is above chance by more than
  3 standard errors and the training loss fell. It is a sanity check, not a ranking: after a few dozen
  steps accuracy says how fast a model starts, not what it can reach. Accuracy after real
  training comes from ``benchmarks/results/fashion_mnist_full.json`` (:mod:`convzoo.report.full_runs`).

``plan.py`` fits the phases to ``--budget`` on this machine. Every finished phase is saved at once to
``state.json`` in the output directory; Ctrl-C or SIGTERM (or the caller's stop event) abandon the phase in
progress and return the partial results, which the caller renders (``convzoo compare`` writes the partial
report), and ``--resume`` continues from the next phase with the same plan. A model whose phase
fails (out of memory, say) gets the error in its row; the others still complete.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

import torch

from .. import files
from ..budget import Budget, now
from ..errors import OptionError
from ..formats import to_json
from ..provenance import command_line, environment, git_commit
from ..registry import LECTURE_LINEUP, get_entry
from ..stopping import StopSignal
from . import imagenet as imagenet_top1
from .measure import measure_cost, measure_speed, measure_training, optimized_dtype, published_accuracy
from .plan import (
    REPORT_SECONDS,
    SAFETY,
    Plan,
    Probe,
    compare_budget,
    make_plan,
    optimized_amp,
    plan_training,
    probe_model,
    training_amp,
)

LINEUP = LECTURE_LINEUP
PHASES = ("cost", "speed", "train")
STATE = "state.json"


@dataclass
class CompareConfig:
    models: list[str] = field(default_factory=lambda: list(LINEUP))
    budget_minutes: float = 8.0  # the whole run, probe and report included
    data: str = "fashion-mnist-mini"  # dataset of the learns-check
    data_dir: str | None = None
    batch_size: int = 64
    optimizer: str = "adamw"  # after 30 steps, SGD leaves MobileNets and VGG-16 at chance; AdamW does not
    lr: float = 2e-3  # peak of the one-cycle schedule, for nets with batch norm
    lr_without_batch_norm: float = 3e-4  # AlexNet, VGG: 1e-3 leaves VGG-16 at chance after 30 steps
    grad_clip: float = 2.0  # gradient-norm clipping
    precise_bn: int = 8  # training batches to recompute batch-norm statistics over before testing
    learns_check: bool = True  # False: cost and speed only (the demo, which leaves training to the lab)
    out: str = "reports/compare"
    seed: int = 0
    imagenet: str | None = None  # a local ImageNet-1k validation set: measure the released weights' top-1 on it
    imagenet_labels: str | None = None  # labels file of a flat layout, where it is not found beside the images
    imagenet_limit: int | None = imagenet_top1.DEFAULT_LIMIT  # images per model, class-balanced; None: all


def phases_for(config: CompareConfig) -> tuple[str, ...]:
    """The phases a comparison runs: the ImageNet measurement only when a validation set was given, the training
    (the learns-check) unless it was switched off."""
    phases = PHASES if config.learns_check else PHASES[:2]
    return phases[:2] + ("imagenet",) + phases[2:] if config.imagenet else phases


def _write_json(path: Path, payload: dict) -> None:
    files.write_text(path, to_json(payload, indent=2) + "\n")


class StopEvent(Protocol):
    """What :func:`run` reads of a stop event: ``threading.Event`` has it."""

    def is_set(self) -> bool: ...


class StopRequested(Exception):
    """The caller's stop event was set: the comparison ends between two phases, as it does on a signal."""


@dataclass(frozen=True)
class Event:
    """What a comparison reports as it goes, to :func:`run`'s ``on_event``.

    ``kind`` is ``probe`` (``model`` is about to be probed), ``plan`` (the plan, as ``lines`` to print),
    ``phase`` (``model``'s ``phase`` starts; ``left_s`` is the estimate of what is left) or ``replan``
    (training re-fitted to the time left, said in ``lines``). ``done`` of ``total`` units (probes, or phases)
    are finished.
    """

    kind: str
    model: str | None = None
    phase: str | None = None
    done: int = 0
    total: int = 0
    left_s: float = 0.0
    lines: tuple[str, ...] = ()


@dataclass
class Results:
    """A finished or stopped comparison: the report's data (what :func:`convzoo.report.render.write_report` renders
    into ``results.json``, ``report.md`` and ``report.html``) and how it ended."""

    record: dict
    out: Path  # where the comparison saved its state, and where its report goes
    stopped_by: str | None = None  # a signal's name, or "a stop event"; None: it ran to the end
    exit_code: int = 0  # what a command that ran it exits with (128 + the signal's number when stopped)

    @property
    def partial(self) -> str | None:
        return self.record["partial"]

    @property
    def rows(self) -> list[dict]:
        return self.record["rows"]


class Comparison:
    """One comparison run: the plan, the rows, and what is finished, saved after every phase."""

    def __init__(
        self,
        config: CompareConfig,
        *,
        resume: bool = False,
        budget: Budget | None = None,
        stop: StopEvent | None = None,
    ) -> None:
        self.config, self.out, self.stop = config, Path(config.out), stop
        self.state_path = self.out / STATE
        if resume:
            if not self.state_path.exists():
                raise OptionError(f"nothing to resume: {self.state_path} does not exist")
            self.state = json.loads(files.read_input(self.state_path, limit=files.READ_LIMIT, follow_links=False))
            self.config = CompareConfig(**self.state["config"])
        else:
            if self.state_path.exists():
                raise OptionError(
                    f"{self.out} holds an earlier comparison; pass --resume to finish it or choose another --out"
                )
            self.state = {"config": asdict(config), "rows": {}, "done": {}, "spent_s": 0.0, "probe": {}, "plan": None}
            self.state["git_commit"] = git_commit()  # the code that runs: read now, not when the report is written
            self.state["command"] = command_line()
        # the caller's clock (the demo's share of its own), or one of --budget minutes less what a resumed run spent
        self.budget = budget or compare_budget(self.config.budget_minutes * 60, spent_s=self.state["spent_s"])
        self.calibration = 1.0  # measured / estimated seconds of the phases so far
        self.phases = phases_for(self.config)
        self.imagenet_images = (
            imagenet_top1.check_folder(self.config.imagenet, self.config.imagenet_labels, self.config.imagenet_limit)
            if self.config.imagenet
            else 0
        )

    def check_stop(self) -> None:
        """Between two pieces of work: raise :class:`StopRequested` once the caller's stop event is set."""
        if self.stop is not None and self.stop.is_set():
            raise StopRequested

    def phases_done(self) -> int:
        return sum(len(phases) for phases in self.state["done"].values())

    # --- state ------------------------------------------------------------------------------------
    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        _write_json(self.state_path, self.state | {"spent_s": self.spent_s})

    @property
    def spent_s(self) -> float:
        return self.budget.elapsed()

    def row(self, name: str) -> dict:
        if name not in self.state["rows"]:
            entry = get_entry(name)
            self.state["rows"][name] = {"model": name, "family": entry.family, "year": entry.paper.year, "skipped": {}}
        row = self.state["rows"][name]
        if "published" not in row:  # read, not measured: also filled in for a state saved before it existed
            row.update(published_accuracy(name))
        return row

    def published_px(self) -> dict[str, int]:
        """Input size of each model's published top-1, where it is not 224 (the speed phase times it there too)."""
        sizes = {name: (self.row(name)["published"] or {}).get("resolution", 224) for name in self.config.models}
        return {name: px for name, px in sizes.items() if px != 224}

    # --- the run ----------------------------------------------------------------------------------
    def plan(self, on_probe: Callable[[str], None] | None = None) -> Plan:
        if self.state["plan"] is not None:
            return _plan_from_dict(self.state["plan"])
        amp, train_amp = optimized_amp(), training_amp(self.config.learns_check)
        start = now()
        for name in self.config.models:
            if name not in self.state["probe"]:
                self.check_stop()
                if on_probe is not None:
                    on_probe(name)
                probe = probe_model(name, self.config.batch_size, train_amp, train=self.config.learns_check)
                self.state["probe"][name] = asdict(probe)
                self.save()
                self._check_probe_fits(now() - start)
        probes = {name: Probe(**values) for name, values in self.state["probe"].items()}
        try:
            plan = make_plan(
                probes,
                self.config.budget_minutes * 60,
                now() - start,
                batch_size=self.config.batch_size,
                amp=amp,
                train_amp=train_amp,
                published_px=self.published_px(),
                learns_check=self.config.learns_check,
            )
        except OptionError:  # a budget that cannot be met: nothing to resume, the next run starts afresh
            remove_comparison(self.out)
            raise
        self.state["plan"] = plan.as_dict()
        self.save()
        return plan

    def _check_probe_fits(self, elapsed_s: float) -> None:
        """Refuse, with what it would take, a budget that the probe alone outruns (``--budget 0.05`` had probed
        for minutes, then measured every model's cost anyway)."""
        budget_s = self.config.budget_minutes * 60
        if elapsed_s <= budget_s:  # over the planning margin is the plan's to cut; over the budget is hopeless
            return
        probed, models = len(self.state["probe"]), len(self.config.models)
        needed_s = (elapsed_s / probed * models + REPORT_SECONDS) / SAFETY * 1.5  # the probe is not all of it
        remove_comparison(self.out)
        raise OptionError(
            f"--budget {self.config.budget_minutes:g} cannot be met on this machine: probing {probed} of the "
            f"{models} models took {elapsed_s:.0f} s already; give --budget {math.ceil(needed_s / 6) / 10:g} or "
            "more, or fewer models"
        )

    def remaining_estimate(self, plan: Plan) -> float:
        left = sum(
            seconds
            for model in plan.models
            for phase, seconds in model.estimate_s.items()
            if phase not in self.state["done"].get(model.name, [])
        )
        return self.calibration * left

    def run(
        self,
        plan: Plan,
        on_phase: Callable[[str, str, float], None] | None = None,
        on_replan: Callable[[Plan], None] | None = None,
    ) -> None:
        """Phase by phase over all models: every cheap column first, then the training with the time really left."""
        measured, estimated = 0.0, 0.0
        for phase in self.phases:
            if phase == "train" and self._replan_training(plan) and on_replan is not None:
                on_replan(plan)
            models = (
                sorted(plan.models, key=lambda m: m.estimate_s.get("train", 0.0)) if phase == "train" else plan.models
            )
            for model in models:
                if phase in self.state["done"].get(model.name, []):
                    continue
                estimate = model.estimate_s.get(phase, 0.0)
                if phase == "imagenet":
                    estimate = imagenet_top1.estimate_seconds(self.row(model.name), self.imagenet_images)
                if on_phase is not None:
                    on_phase(model.name, phase, self.remaining_estimate(plan))
                self.check_stop()  # after the callback: a stop it sets keeps this phase from starting
                start = now()
                self._run_phase(model.name, phase, plan, model.train_steps if phase == "train" else 0, estimate)
                self.row(model.name).setdefault("phase_seconds", {})[phase] = round(now() - start, 1)
                if estimate and phase != "train":  # training is re-planned from the clock instead
                    measured += now() - start
                    estimated += estimate
                    self.calibration = min(3.0, max(0.5, measured / estimated))
                self.state["done"].setdefault(model.name, []).append(phase)
                self.save()

    def _replan_training(self, plan: Plan) -> bool:
        """Fit the training to the time really left, unless a model has already trained (same steps for all)."""
        if not self.config.learns_check or any("train" in done for done in self.state["done"].values()):
            return False
        self.calibration = 1.0
        probes = {name: Probe(**values) for name, values in self.state["probe"].items()}
        plan_training(plan, probes, self.budget.for_planning(), precise_bn=self.config.precise_bn)
        self.state["plan"] = plan.as_dict()
        self.save()
        return True

    def _run_phase(self, name: str, phase: str, plan: Plan, steps: int, estimate: float) -> None:
        row = self.row(name)
        model_plan = next(m for m in plan.models if m.name == name)
        if phase == "speed" and not model_plan.speed or phase == "train" and not steps:
            row["skipped"][phase] = model_plan.reason or "left out by the plan"
            return
        left = self.budget.left()
        if not self.budget.fits(self.calibration * estimate):
            row["skipped"][phase] = (
                f"left out: would take ~{self.calibration * estimate:.0f} s, {max(left, 0):.0f} s of the budget left"
            )
            return
        try:
            if phase == "cost":
                row.update(measure_cost(name, self.published_px().get(name, 224)))
            elif phase == "speed":
                px = self.published_px().get(name, 224)
                row.update(measure_speed(name, plan.repeats, optimized_dtype(plan.amp), px))
            elif phase == "imagenet":
                config = self.config
                row.update(
                    imagenet_top1.measure_column(
                        name, row, config.imagenet, config.imagenet_labels, config.imagenet_limit
                    )
                )
            else:
                row.update(measure_training(name, self.config, plan, steps))
        except (RuntimeError, ValueError, MemoryError, OSError) as error:
            row.setdefault("errors", {})[phase] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"

    def results(self, *, partial: str | None = None) -> dict:
        return {
            "config": self.state["config"],
            "plan": self.state["plan"],
            "rows": [self.row(name) for name in self.config.models],
            "seconds": round(self.spent_s, 1),
            "partial": partial,
            "machine": {**environment(), "cpu": self.state["plan"]["cpu"] if self.state["plan"] else None},
            "git_commit": self.state.get("git_commit"),
            "command": self.state.get("command"),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "torch": torch.__version__,
        }


def run(
    config: CompareConfig,
    budget: Budget | None = None,
    on_event: Callable[[Event], None] | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    stop: StopEvent | None = None,
) -> Results:
    """Run the comparison ``config`` describes, saving each finished phase in ``config.out``; the rows come back.

    ``budget`` is the caller's clock (``convzoo demo`` passes its share); without one, ``config.budget_minutes``
    from now. ``on_event`` hears each :class:`Event`. A signal the caller turns into
    :class:`~convzoo.stopping.StopSignal` (``RaiseOnStop``), or ``stop`` being set, ends the run after the phase in
    progress is abandoned: the finished phases are saved (``resume=True`` continues them) and the partial results
    returned. ``overwrite`` first removes an earlier comparison in ``config.out``. Rendering is the caller's:
    :func:`convzoo.report.render.write_report`.
    """
    if overwrite and not resume:
        remove_comparison(config.out)
    if budget is not None:
        config = replace(config, budget_minutes=budget.seconds / 60)
    comparison = Comparison(config, resume=resume, budget=budget, stop=stop)
    tell = on_event or (lambda event: None)
    models = comparison.config.models
    total = len(models) * len(comparison.phases)
    try:
        probed = iter(range(len(models)))
        plan = comparison.plan(lambda name: tell(Event("probe", model=name, done=next(probed), total=len(models))))
        tell(Event("plan", done=comparison.phases_done(), total=total, lines=tuple(plan.describe())))

        def on_phase(name: str, phase: str, left_s: float) -> None:
            tell(Event("phase", model=name, phase=phase, done=comparison.phases_done(), total=total, left_s=left_s))

        def on_replan(plan: Plan) -> None:
            trained = [m.name for m in plan.models if m.train_steps]
            line = (
                f"training re-planned for the time left: {plan.steps} steps for {len(trained)} of {len(models)} models"
            )
            tell(Event("replan", done=comparison.phases_done(), total=total, lines=(line,)))

        comparison.run(plan, on_phase, on_replan)
    except (StopSignal, StopRequested) as stopped:
        name, code = (stopped.name, stopped.exit_code) if isinstance(stopped, StopSignal) else ("a stop event", 130)
        record = comparison.results(partial=f"stopped by {name} after {comparison.spent_s / 60:.1f} min")
        return Results(record, comparison.out, stopped_by=name, exit_code=code)
    return Results(comparison.results(), comparison.out)


def remove_comparison(out: str | Path) -> None:
    """Delete what a comparison wrote in ``out`` (its state, report, plots, runs), and nothing else."""
    out = Path(out)
    for name in (
        STATE,
        "results.json",
        "report.md",
        "report.html",
        "top1_vs_latency.png",
        "top1_vs_gmacs.png",
        "latency_vs_gmacs.png",
        "params_by_family.png",
        "accuracy_vs_gmacs.png",
    ):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "runs", ignore_errors=True)


def _plan_from_dict(values: dict) -> Plan:
    from .plan import ModelPlan

    fields = {k: v for k, v in values.items() if k not in ("estimate_s", "cuts", "models")}
    return Plan(**fields, models=[ModelPlan(**m) for m in values["models"]])
