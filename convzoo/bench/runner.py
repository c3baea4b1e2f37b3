# SPDX-License-Identifier: MIT
"""``convzoo bench``: images/s, latency and peak memory, optionally side by side with the reference.

The reference runs as a user gets it out of the box (eager, fp32, contiguous);
``dtype``, ``channels_last``, ``optimize`` and ``compile`` apply to ours alone,
so ``--optimize --against torchvision`` shows what convzoo adds. With
``reference_same_flags`` the reference gets the generic ``dtype`` and
``channels_last`` choices too (autocast, NHWC), for a like-for-like comparison. Candidates are
timed interleaved in one process (:mod:`convzoo.bench.timing`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..deploy import optimize as optimize_model
from ..errors import OptionError
from ..factory import create_model
from ..registry import get_entry
from ..runtime import autocast
from ..training.step import TrainingStep
from .memory import peak_memory_bytes
from .onnx_runtime import onnxruntime_runner, onnxruntime_version
from .openvino import openvino_runner, openvino_version
from .timing import Runner, time_interleaved


@dataclass
class BenchSpec:
    models: list[str]
    mode: str = "infer"  # infer | train
    batches: list[int] = field(default_factory=lambda: [1, 16])
    size: int = 224
    dtype: str = "fp32"  # fp32 | bf16 | int8 (ours, optimized and compiled, only)
    channels_last: bool = False
    optimize: bool = False
    compile: bool = False
    against: tuple[str, ...] = ()  # torchvision, timm; onnxruntime, openvino (ours, exported); the first sets ratio
    device: str = "cpu"
    warmup: int = 2
    repeats: int = 7
    memory: bool = True
    reference_same_flags: bool = False


def eager_runner(model: nn.Module, x: torch.Tensor, spec: BenchSpec, loss_rule=None) -> Callable[[], object]:
    """One forward (infer) or training step (train). ``loss_rule``: the zoo model's ``training_loss``, also
    applied to its reference, whose training-mode outputs have the same structure."""
    dtype = torch.bfloat16 if spec.dtype == "bf16" else None
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if spec.mode == "train":
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        labels = torch.zeros(len(x), dtype=torch.long, device=x.device)
        training_step = TrainingStep(model, optimizer, amp_dtype=dtype, loss_rule=loss_rule)

        def step():
            training_step(x, lambda out: F.cross_entropy(out.float(), labels))

        return step
    model.eval()

    def infer():
        with torch.inference_mode(), autocast(x.device, dtype):
            return model(x)

    return infer


def ours_runner(model: nn.Module, x: torch.Tensor, spec: BenchSpec) -> Runner:
    """Ours as the spec asks, and how far its outputs are from the eager fp32 model's (optimize() checks them)."""
    if spec.mode == "infer" and (spec.optimize or spec.compile):
        # int8 calibrates on the timed batch itself: its scales change the accuracy, not the speed
        calibration = [x] if spec.dtype == "int8" else None
        fast, report = optimize_model(
            model, x, dtype=spec.dtype, compile=spec.compile, channels_last=True, calibration=calibration
        )

        def infer():
            with torch.inference_mode():
                return fast(x)

        return Runner(infer, report.max_relative_difference)
    exact = spec.mode == "infer" and spec.dtype == "fp32"  # eager fp32 is the original; bf16 autocast is not checked
    return Runner(eager_runner(model, x, spec), 0.0 if exact else None)


LIBRARIES = ("torchvision", "timm")  # references built as models
ENGINES = ("onnxruntime", "openvino")  # references that run our model, exported to ONNX


def engine_dtype(label: str, spec: BenchSpec) -> str:
    """The precision an engine is timed in: ONNX Runtime fp32; OpenVINO in ours when that is bf16, else fp32."""
    return "bf16" if label == "openvino" and spec.dtype == "bf16" else "fp32"


def _models(name: str, spec: BenchSpec, device: torch.device) -> tuple[nn.Module, dict[str, nn.Module]]:
    """Our model and each library reference, with the same weights (ours converted from the first library's)."""
    libraries = [label for label in spec.against if label in LIBRARIES]
    if not libraries:
        return create_model(name).to(device), {}
    from ..weights.reference import paired_models

    for label in libraries:
        if label not in get_entry(name).reference:
            raise OptionError(f"{name} has no {label} counterpart")
    reference, ours = paired_models(name, libraries[0])
    references = {libraries[0]: reference.to(device)}
    for label in libraries[1:]:
        references[label] = paired_models(name, label)[0].to(device)
    return ours.to(device), references


def _variant(spec: BenchSpec) -> str:
    flags = (("optimized", spec.optimize), ("compiled", spec.compile), ("channels_last", spec.channels_last))
    return "+".join(name for name, on in flags if on) or "eager"


def bench_model(name: str, batch: int, spec: BenchSpec) -> list[dict]:
    """Ours and each reference, timed interleaved; ``ratio``: images/s over the first reference's."""
    device = torch.device(spec.device)
    ours, references = _models(name, spec, device)
    x = torch.randn(batch, 3, spec.size, spec.size, device=device)
    runners = {"convzoo": ours_runner(ours, x, spec)}  # optimize() works on a copy: ours stays the original
    reference_spec = spec if spec.reference_same_flags else replace(spec, dtype="fp32", channels_last=False)
    for label in spec.against:
        if label == "onnxruntime":
            runners[label] = onnxruntime_runner(ours, x)
        elif label == "openvino":
            runners[label] = openvino_runner(ours, x, engine_dtype(label, spec))
        else:  # the reference libraries' agreement with ours is tests/test_equivalence.py's
            call = eager_runner(references[label], x, reference_spec, loss_rule=ours.training_loss)
            runners[label] = Runner(call, None)
    candidates = {label: runner.call for label, runner in runners.items()}
    timings = time_interleaved(candidates, warmup=spec.warmup, repeats=spec.repeats, device=device)
    rows = []
    for label, timing in timings.items():
        memory = peak_memory_bytes(candidates[label], device) if spec.memory else None
        same_flags = label == "convzoo" or (spec.reference_same_flags and label not in ENGINES)
        rows.append(
            {
                "model": name,
                "impl": _implementation(name, label),
                "variant": _variant(spec) if label == "convzoo" else "eager",
                "mode": spec.mode,
                "dtype": spec.dtype if same_flags else engine_dtype(label, spec) if label in ENGINES else "fp32",
                "batch": batch,
                "size": spec.size,
                "images_per_s": round(batch / timing.median, 2),
                "latency_ms": round(timing.median * 1000, 2),
                "latency_p90_ms": round(timing.p90 * 1000, 2),
                "peak_memory_mib": round(memory / 2**20, 1) if memory is not None else None,
                "max_relative_difference": runners[label].relative_difference,
            }
        )
        if spec.against:
            rows[-1]["ratio"] = round(timings[spec.against[0]].median / timing.median, 3)
    return rows


def _implementation(name: str, label: str) -> str:
    if label == "convzoo":
        return label
    if label == "onnxruntime":
        return f"onnxruntime {onnxruntime_version()}"
    if label == "openvino":
        return f"openvino {openvino_version()}"
    return f"{label}:{get_entry(name).reference[label]}"


def bench(spec: BenchSpec, on_row: Callable[[dict], None] | None = None) -> list[dict]:
    rows = []
    for name in spec.models:
        get_entry(name)
        for batch in spec.batches:
            for row in bench_model(name, batch, spec):
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    return rows
