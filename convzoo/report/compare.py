"""``convzoo compare``: the lecture's line-up measured on this machine, as a report with plots.

For each model: parameters, fp32 weight size, GMACs at 224, CPU latency at
batch 1 and throughput at batch 16 (eager and optimized), and the test
accuracy after the same short training (small-input variant, same recipe and
budget for every model) with its training time. A model that fails (out of
memory, say) gets its error in its row; the others still complete.
"""

from __future__ import annotations

import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..analysis import profile
from ..bench.runner import BenchSpec, bench_model
from ..registry import count_params, get_entry
from ..training import TrainConfig, train
from ..training.run_log import environment, git_commit

LINEUP = [
    "alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "resnext50_32x4d", "xception",
    "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "efficientnet_v2_s", "convnext_tiny",
]  # fmt: skip


@dataclass
class CompareConfig:
    models: list[str] = field(default_factory=lambda: list(LINEUP))
    data: str = "fashion-mnist-mini"  # dataset for the short training
    data_dir: str | None = None
    epochs: int = 2  # training epochs per model, the same for all
    batch_size: int = 128
    out: str = "reports/compare"
    repeats: int = 3  # timed repeats per speed measurement (after one warm-up)
    seed: int = 0


def _speed(name: str, config: CompareConfig) -> dict:
    common = dict(models=[name], warmup=1, repeats=config.repeats, memory=False)
    latency = bench_model(name, 1, BenchSpec(**common))[0]
    eager = bench_model(name, 16, BenchSpec(**common))[0]
    optimized = bench_model(name, 16, BenchSpec(**common, optimize=True))[0]
    return {
        "latency_b1_ms": latency["latency_ms"],
        "throughput_b16": eager["images_per_s"],
        "throughput_b16_optimized": optimized["images_per_s"],
    }


def _accuracy(name: str, config: CompareConfig, run_dir: Path) -> dict:
    shutil.rmtree(run_dir, ignore_errors=True)
    train_config = TrainConfig(
        model=name, data=config.data, data_dir=config.data_dir, epochs=config.epochs, batch_size=config.batch_size,
        seed=config.seed, out=str(run_dir), progress=False,
    )  # fmt: skip
    result = train(train_config)
    return {
        "test_top1": result.final["test_top1"],
        "train_seconds": round(sum(row["epoch_seconds"] for row in result.history), 1),
    }


def measure_model(name: str, config: CompareConfig, run_dir: Path) -> dict:
    entry = get_entry(name)
    row: dict = {"model": name, "family": entry.family, "year": entry.paper.year}
    try:
        row["params"] = count_params(name)
        row["weights_mib"] = round(row["params"] * 4 / 2**20, 1)
        row["gmacs"] = round(profile(name, (3, 224, 224)).total_macs / 1e9, 3)
        row.update(_speed(name, config))
        row.update(_accuracy(name, config, run_dir))
    except (RuntimeError, ValueError, MemoryError) as error:
        row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return row


def compare(config: CompareConfig, on_model: Callable[[str, dict | None], None] | None = None) -> dict:
    """Measure every model of the line-up; returns the results with the machine and recipe."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = []
    for name in config.models:
        if on_model is not None:
            on_model(name, None)
        rows.append(measure_model(name, config, out / "runs" / name))
        if on_model is not None:
            on_model(name, rows[-1])
    return {
        "config": asdict(config),
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {"processor": platform.processor() or platform.machine(), **environment()},
        "git_commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "torch": torch.__version__,
    }
