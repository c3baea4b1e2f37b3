# SPDX-License-Identifier: MIT
"""The three measurements of ``convzoo compare`` for one model: cost, speed, and the learns-check.

Each returns a row fragment (plain numbers, JSON-ready); :mod:`convzoo.compare.comparison` schedules them
within the budget. See that module's docstring for what each phase means and why. Beside them,
:func:`published_accuracy` reads (does not measure) the published ImageNet top-1 of the model's weights.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch

from ..analysis import profile
from ..bench.runner import BenchSpec, eager_runner, ours_runner
from ..bench.timing import time_interleaved
from ..data.fashion_mnist import NUM_CLASSES
from ..factory import create_model
from ..registry import count_params
from ..training import TrainConfig
from ..training.short_run import train_config
from ..weights.catalog import sources_for, weights_for
from .plan import Plan


class LearnsCheckSettings(Protocol):
    """What the learns-check reads of the comparison's settings (:class:`~convzoo.compare.CompareConfig`
    has them): named here so that this module needs nothing from the one that schedules it."""

    data: str
    data_dir: str | None
    batch_size: int
    optimizer: str
    lr: float
    lr_without_batch_norm: float
    grad_clip: float
    precise_bn: int
    seed: int


def measure_cost(name: str, published_px: int = 224) -> dict:
    """Cost at 224; multiply-adds also at the published figure's input size when that differs (EfficientNetV2-S
    reaches its published top-1 at 384 px, at about 3x the multiply-adds of 224)."""
    params = count_params(name)
    model = create_model(name).eval()
    result = profile(model, (3, 224, 224))
    row = {
        "params": params,
        "weights_mib": round(params * 4 / 2**20, 1),
        "gmacs": round(result.total_macs / 1e9, 3),
        "activation_mib": round(result.activation_bytes / 2**20, 1),
    }
    if published_px != 224:
        row["gmacs_published_px"] = round(profile(model, (3, published_px, published_px)).total_macs / 1e9, 3)
    return row


def published_accuracy(name: str) -> dict:
    """The published ImageNet-1k top-1 of ``name``'s released weights, as data from the weights table.

    Of the sources with a published figure, the best one evaluated at 224 px (the size every speed column is
    timed at) is taken; a model whose weights are only evaluated at another size keeps that size, and the
    speed phase times it there too (:func:`measure_speed`), so accuracy and latency describe one setting.
    Models without released weights, or whose weights have no published top-1, get the reason instead.
    """
    entries = [weights_for(name, source) for source in sources_for(name)]
    if not entries:
        return {"published": None, "published_note": "no released weights"}
    scored = [w for w in entries if w.top1 is not None]
    if not scored:
        tags = ", ".join(f"{w.source} {w.tag}" for w in entries)
        return {"published": None, "published_note": f"its weights, {tags}, have no published top-1 in the table"}
    best = max(scored, key=lambda w: (w.transform.crop == 224, w.top1))
    return {"published": {"top1": best.top1, "source": best.source, "tag": best.tag, "resolution": best.transform.crop}}


def optimized_dtype(amp: str) -> str:
    """bf16 where this CPU has it natively (the plan's ``amp``), fp32 elsewhere (AVX2 emulates bf16: slower)."""
    return "bf16" if amp == "bf16" else "fp32"


def measure_speed(name: str, repeats: int, dtype: str = "fp32", published_px: int = 224) -> dict:
    """Latency at batch 1 and throughput at batch 16 (eager fp32, and optimized in ``dtype``), timed interleaved.

    When the published top-1 is for another input size than 224, batch-1 latency is also timed at that size:
    the frontier sets accuracy against the latency of the setting that reaches it.
    """
    model = create_model(name).eval()
    spec = BenchSpec(models=[], warmup=1, repeats=repeats, memory=False)
    single, batch = torch.randn(1, 3, 224, 224), torch.randn(16, 3, 224, 224)
    candidates = {
        "b1": eager_runner(model, single, spec),
        "b16": eager_runner(model, batch, spec),
        "b16_optimized": ours_runner(model, batch, BenchSpec(models=[], optimize=True, dtype=dtype)).call,
    }
    if published_px != 224:
        candidates["b1_published_px"] = eager_runner(model, torch.randn(1, 3, published_px, published_px), spec)
    timings = time_interleaved(candidates, warmup=1, repeats=repeats)
    row = {
        "latency_b1_ms": round(timings["b1"].median * 1000, 2),
        "throughput_b16": round(16 / timings["b16"].median, 2),
        "throughput_b16_optimized": round(16 / timings["b16_optimized"].median, 2),
        "optimized_dtype": dtype,
    }
    if published_px != 224:
        row["latency_b1_ms_published_px"] = round(timings["b1_published_px"].median * 1000, 2)
    return row


def learns_threshold(count: int, classes: int) -> float:
    """Chance plus 3 standard errors of a chance-level accuracy on ``count`` test images (one-sided p < 0.0014)."""
    chance = 1 / classes
    return chance + 3 * math.sqrt(chance * (1 - chance) / max(count, 1))


def learns(test_top1: float, count: int, classes: int, loss_first: float, loss_last: float) -> bool:
    """Above chance by more than 3 standard errors, and the training loss fell."""
    return test_top1 > learns_threshold(count, classes) and loss_last < loss_first


def has_batch_norm(model: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def measure_training(name: str, config: LearnsCheckSettings, plan: Plan, steps: int) -> dict:
    """The learns-check: ``steps`` steps of the small-input variant on the comparison's data, a short run that keeps
    nothing (:func:`convzoo.training.short_run.train_config`), then its test top-1 and how its loss moved."""
    with torch.device("meta"):  # structure only: no memory, no initialization
        lr = config.lr if has_batch_norm(create_model(name, num_classes=NUM_CLASSES)) else config.lr_without_batch_norm
    run = train_config(
        TrainConfig(
            model=name,
            data=config.data,
            data_dir=config.data_dir,
            epochs=1,
            steps_per_epoch=steps,
            batch_size=config.batch_size,
            optimizer=config.optimizer,
            lr=lr,
            grad_clip=config.grad_clip,
            precise_bn=config.precise_bn,
            amp=plan.train_amp,
            seed=config.seed,
            progress=False,
        )
    )
    losses = run.curve.loss
    quarter = max(1, len(losses) // 4)
    first, last = sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter
    return {
        "train_steps": steps,
        "lr": lr,
        "train_seconds": round(run.train_seconds, 1),
        "test_top1": run.test.top1,
        "test_count": run.test.count,
        "classes": len(run.classes),
        "loss_first": round(first, 4),
        "loss_last": round(last, 4),
        "learns": learns(run.test.top1, run.test.count, len(run.classes), first, last),
    }
