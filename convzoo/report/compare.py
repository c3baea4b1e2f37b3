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
from ..bench.runner import BenchSpec, eager_runner, ours_runner
from ..bench.timing import time_interleaved
from ..registry import count_params, create_model, get_entry
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
    epochs: int = 1  # training epochs per model, the same for all
    batch_size: int = 128
    lr: float = 0.05  # peak of the one-cycle schedule; 0.1 makes VGG-16 (no batch norm) diverge
    grad_clip: float = 2.0  # gradient-norm clipping, so the nets without batch norm train too
    precise_bn: int = 8  # training batches to recompute batch-norm statistics over before testing
    out: str = "reports/compare"
    repeats: int = 2  # timed repeats per speed measurement (after one warm-up)
    seed: int = 0


def _speed(model: torch.nn.Module, config: CompareConfig) -> dict:
    """Latency at batch 1 and throughput at batch 16 (eager and optimized), one model built once."""
    eager_spec = BenchSpec(models=[], warmup=1, repeats=config.repeats, memory=False)
    single, batch = torch.randn(1, 3, 224, 224), torch.randn(16, 3, 224, 224)
    candidates = {
        "b1": eager_runner(model, single, eager_spec),
        "b16": eager_runner(model, batch, eager_spec),
        "b16_optimized": ours_runner(model, batch, BenchSpec(models=[], optimize=True)),
    }
    timings = time_interleaved(candidates, warmup=1, repeats=config.repeats)
    return {
        "latency_b1_ms": round(timings["b1"].median * 1000, 2),
        "throughput_b16": round(16 / timings["b16"].median, 2),
        "throughput_b16_optimized": round(16 / timings["b16_optimized"].median, 2),
    }


def _accuracy(name: str, config: CompareConfig, run_dir: Path) -> dict:
    shutil.rmtree(run_dir, ignore_errors=True)
    train_config = TrainConfig(
        model=name, data=config.data, data_dir=config.data_dir, epochs=config.epochs, batch_size=config.batch_size,
        lr=config.lr, grad_clip=config.grad_clip, precise_bn=config.precise_bn, seed=config.seed, out=str(run_dir),
        progress=False,
    )  # fmt: skip
    result = train(train_config)
    for checkpoint in run_dir.glob("*.pt"):  # VGG-16's would take 3 GB; the metrics stay in run_dir
        checkpoint.unlink()
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
        model = create_model(name).eval()
        row["gmacs"] = round(profile(model, (3, 224, 224)).total_macs / 1e9, 3)
        row.update(_speed(model, config))
        del model
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
