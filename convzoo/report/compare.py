"""``convzoo compare``: the lecture's line-up measured on this machine, within a time budget, as a report.

For each model, in phases:

- ``cost``: parameters, fp32 weight size, GMACs and activation memory at 224 (cheap and exact);
- ``speed``: CPU latency at batch 1, throughput at batch 16, eager and optimized;
- ``train``: the "learns on this data" check: the small-input variant trained for the planned number
  of steps on the embedded sample, then tested. It passes when test top-1 is above chance by more than
  3 standard errors and the training loss fell. It is a sanity check, not a ranking: after a few dozen
  steps accuracy says how fast a model starts, not what it can reach (issue 9). Accuracy after real
  training comes from ``benchmarks/results/fashion_mnist_full.json`` (:mod:`convzoo.report.full_runs`).

``plan.py`` fits the phases to ``--budget`` on this machine. Every finished phase is saved at once to
``state.json`` in the output directory; Ctrl-C or SIGTERM abandon the phase in progress, write a
partial report, and ``--resume`` continues from the next phase with the same plan. A model whose phase
fails (out of memory, say) gets the error in its row; the others still complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..analysis import profile
from ..bench.runner import BenchSpec, eager_runner, ours_runner
from ..bench.timing import time_interleaved
from ..errors import OptionError
from ..provenance import command_line, environment, git_commit
from ..registry import LECTURE_LINEUP, count_params, create_model, get_entry
from ..stopping import StopSignal
from ..training import TrainConfig, train
from .plan import REPORT_SECONDS, SAFETY, Plan, Probe, choose_amp, make_plan, plan_training, probe_model

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
    out: str = "reports/compare"
    seed: int = 0


def _write_json(path: Path, payload: dict) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        json.dump(payload, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)


def measure_cost(name: str) -> dict:
    params = count_params(name)
    model = create_model(name).eval()
    result = profile(model, (3, 224, 224))
    return {
        "params": params,
        "weights_mib": round(params * 4 / 2**20, 1),
        "gmacs": round(result.total_macs / 1e9, 3),
        "activation_mib": round(result.activation_bytes / 2**20, 1),
    }


def measure_speed(name: str, repeats: int) -> dict:
    """Latency at batch 1 and throughput at batch 16 (eager and optimized), timed interleaved."""
    model = create_model(name).eval()
    spec = BenchSpec(models=[], warmup=1, repeats=repeats, memory=False)
    single, batch = torch.randn(1, 3, 224, 224), torch.randn(16, 3, 224, 224)
    candidates = {
        "b1": eager_runner(model, single, spec),
        "b16": eager_runner(model, batch, spec),
        "b16_optimized": ours_runner(model, batch, BenchSpec(models=[], optimize=True)),
    }
    timings = time_interleaved(candidates, warmup=1, repeats=repeats)
    return {
        "latency_b1_ms": round(timings["b1"].median * 1000, 2),
        "throughput_b16": round(16 / timings["b16"].median, 2),
        "throughput_b16_optimized": round(16 / timings["b16_optimized"].median, 2),
    }


def learns(test_top1: float, count: int, classes: int, loss_first: float, loss_last: float) -> bool:
    """Above chance by more than 3 standard errors (one-sided p < 0.0014), and the training loss fell."""
    chance = 1 / classes
    standard_error = math.sqrt(chance * (1 - chance) / max(count, 1))
    return test_top1 > chance + 3 * standard_error and loss_last < loss_first


def has_batch_norm(model: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def measure_training(name: str, config: CompareConfig, plan: Plan, steps: int, run_dir: Path) -> dict:
    shutil.rmtree(run_dir, ignore_errors=True)
    losses: list[float] = []
    previous = [0.0, 0.0]

    def record(state) -> None:  # the mean loss of each step, from the running sums
        loss_sum, count = state.sums[0], state.sums[2]
        losses.append((loss_sum - previous[0]) / max(count - previous[1], 1))
        previous[:] = [loss_sum, count]

    with torch.device("meta"):  # structure only: no memory, no initialization
        lr = config.lr if has_batch_norm(create_model(name, num_classes=10)) else config.lr_without_batch_norm
    train_config = TrainConfig(
        model=name, data=config.data, data_dir=config.data_dir, epochs=1, steps_per_epoch=steps,
        batch_size=config.batch_size, optimizer=config.optimizer, lr=lr, grad_clip=config.grad_clip,
        precise_bn=config.precise_bn, amp=plan.amp, seed=config.seed, out=str(run_dir), progress=False,
    )  # fmt: skip
    result = train(train_config, on_step=record)
    shutil.rmtree(run_dir, ignore_errors=True)  # VGG-16's checkpoints alone would take 3 GB
    if result.interrupted:
        raise StopSignal(result.exit_code - 128)
    final = result.final
    quarter = max(1, len(losses) // 4)
    first, last = sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter
    test_count = int(final["test_count"])
    return {
        "train_steps": steps,
        "lr": lr,
        "train_seconds": round(final["epoch_seconds"], 1),
        "test_top1": final["test_top1"],
        "test_count": test_count,
        "loss_first": round(first, 4),
        "loss_last": round(last, 4),
        "learns": learns(final["test_top1"], test_count, len(result.classes), first, last),
    }


class Comparison:
    """One comparison run: the plan, the rows, and what is finished, saved after every phase."""

    def __init__(self, config: CompareConfig, *, resume: bool = False) -> None:
        self.config, self.out = config, Path(config.out)
        self.state_path = self.out / STATE
        if resume:
            if not self.state_path.exists():
                raise OptionError(f"nothing to resume: {self.state_path} does not exist")
            self.state = json.loads(self.state_path.read_text())
            self.config = CompareConfig(**self.state["config"])
        else:
            if self.state_path.exists():
                raise OptionError(
                    f"{self.out} holds an earlier comparison; pass --resume to finish it or choose another --out"
                )
            self.state = {"config": asdict(config), "rows": {}, "done": {}, "spent_s": 0.0, "probe": {}, "plan": None}
            self.state["git_commit"] = git_commit()  # the code that runs: read now, not when the report is written
            self.state["command"] = command_line()
        self.started = time.perf_counter()
        self.deadline = self.started + self.config.budget_minutes * 60 - self.state["spent_s"]
        self.calibration = 1.0  # measured / estimated seconds of the phases so far

    # --- state ------------------------------------------------------------------------------------
    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        _write_json(self.state_path, self.state | {"spent_s": self.spent_s})

    @property
    def spent_s(self) -> float:
        return self.state["spent_s"] + time.perf_counter() - self.started

    def row(self, name: str) -> dict:
        if name not in self.state["rows"]:
            entry = get_entry(name)
            self.state["rows"][name] = {"model": name, "family": entry.family, "year": entry.paper.year, "skipped": {}}
        return self.state["rows"][name]

    # --- the run ----------------------------------------------------------------------------------
    def plan(self, on_probe: Callable[[str], None] | None = None) -> Plan:
        if self.state["plan"] is not None:
            return _plan_from_dict(self.state["plan"])
        amp = choose_amp()
        start = time.perf_counter()
        for name in self.config.models:
            if name not in self.state["probe"]:
                if on_probe is not None:
                    on_probe(name)
                self.state["probe"][name] = asdict(probe_model(name, self.config.batch_size, amp))
                self.save()
        probes = {name: Probe(**values) for name, values in self.state["probe"].items()}
        plan = make_plan(
            probes,
            self.config.budget_minutes * 60,
            time.perf_counter() - start,
            batch_size=self.config.batch_size,
            amp=amp,
        )
        self.state["plan"] = plan.as_dict()
        self.save()
        return plan

    def remaining_estimate(self, plan: Plan) -> float:
        left = sum(
            seconds for model in plan.models for phase, seconds in model.estimate_s.items()
            if phase not in self.state["done"].get(model.name, [])
        )  # fmt: skip
        return self.calibration * left

    def run(
        self, plan: Plan, on_phase: Callable[[str, str, float], None] | None = None,
        on_replan: Callable[[Plan], None] | None = None,
    ) -> None:  # fmt: skip
        """Phase by phase over all models: every cheap column first, then the training with the time really left."""
        measured, estimated = 0.0, 0.0
        for phase in PHASES:
            if phase == "train" and self._replan_training(plan) and on_replan is not None:
                on_replan(plan)
            models = (
                sorted(plan.models, key=lambda m: m.estimate_s.get("train", 0.0)) if phase == "train" else plan.models
            )
            for model in models:
                if phase in self.state["done"].get(model.name, []):
                    continue
                estimate = model.estimate_s.get(phase, 0.0)
                if on_phase is not None:
                    on_phase(model.name, phase, self.remaining_estimate(plan))
                start = time.perf_counter()
                self._run_phase(model.name, phase, plan, model.train_steps if phase == "train" else 0, estimate)
                self.row(model.name).setdefault("phase_seconds", {})[phase] = round(time.perf_counter() - start, 1)
                if estimate and phase != "train":  # training is re-planned from the clock instead
                    measured += time.perf_counter() - start
                    estimated += estimate
                    self.calibration = min(3.0, max(0.5, measured / estimated))
                self.state["done"].setdefault(model.name, []).append(phase)
                self.save()

    def _replan_training(self, plan: Plan) -> bool:
        """Fit the training to the time really left, unless a model has already trained (same steps for all)."""
        if any("train" in done for done in self.state["done"].values()):
            return False
        self.calibration = 1.0
        probes = {name: Probe(**values) for name, values in self.state["probe"].items()}
        left = SAFETY * (self.deadline - time.perf_counter()) - REPORT_SECONDS
        plan_training(plan, probes, left, precise_bn=self.config.precise_bn)
        self.state["plan"] = plan.as_dict()
        self.save()
        return True

    def _run_phase(self, name: str, phase: str, plan: Plan, steps: int, estimate: float) -> None:
        row = self.row(name)
        model_plan = next(m for m in plan.models if m.name == name)
        if phase == "speed" and not model_plan.speed or phase == "train" and not steps:
            row["skipped"][phase] = model_plan.reason or "left out by the plan"
            return
        left = self.deadline - time.perf_counter()
        if self.calibration * estimate > left:
            row["skipped"][phase] = (
                f"left out: would take ~{self.calibration * estimate:.0f} s, {max(left, 0):.0f} s of the budget left"
            )
            return
        try:
            if phase == "cost":
                row.update(measure_cost(name))
            elif phase == "speed":
                row.update(measure_speed(name, plan.repeats))
            else:
                row.update(measure_training(name, self.config, plan, steps, self.out / "runs" / name))
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


def remove_comparison(out: str | Path) -> None:
    """Delete what a comparison wrote in ``out`` (its state, report, plots, runs), and nothing else."""
    out = Path(out)
    for name in (
        STATE,
        "results.json",
        "report.md",
        "report.html",
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
