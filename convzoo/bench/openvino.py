# SPDX-License-Identifier: MIT
"""OpenVINO as a reference for ``convzoo bench``: the CPU inference engine most x86 deployments use.

It reads the same ONNX graph that the ONNX Runtime reference runs (``convzoo export``'s, opset 17), so the two
peers start from one file. As a deployment would, the graph is reshaped to the benchmark's static input
shape and compiled for the CPU with the latency hint, one stream and torch's thread count. Precision is
OpenVINO's ``INFERENCE_PRECISION_HINT``: ``f32``, or ``bf16`` where the CPU runs bf16 natively (OpenVINO
otherwise falls back to f32 silently, which would time the wrong thing). Its outputs are checked against
PyTorch on the benchmark's own input before it is timed: a fast wrong answer is not a reference.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..deploy.export import export, onnx_bound
from ..deploy.optimize import TOLERANCE
from ..errors import OptionError
from .timing import Runner

PRECISIONS = {"fp32": "f32", "bf16": "bf16"}  # convzoo's dtype names to OpenVINO's precision hints


def _openvino():
    try:
        import openvino
    except ImportError:
        raise OptionError("openvino is not installed; `pip install 'convzoo[openvino]'`") from None
    return openvino


def openvino_version() -> str:
    return _openvino().__version__.split("-")[0]


def native_precisions() -> set[str]:
    """The convzoo dtypes OpenVINO's CPU plugin runs natively here (its OPTIMIZATION_CAPABILITIES)."""
    capabilities = set(_openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    return {"fp32"} | ({"bf16"} if "BF16" in capabilities else set())


def compile_onnx(path: str | Path, shape: tuple[int, ...], dtype: str = "fp32"):
    """An OpenVINO CPU model compiled from the ONNX file at ``path`` for inputs of ``shape``."""
    if dtype not in PRECISIONS:
        raise OptionError(f"OpenVINO is timed in {' or '.join(PRECISIONS)}, not {dtype}")
    if dtype not in native_precisions():
        raise OptionError(f"this CPU does not run OpenVINO's {dtype} natively; time it in fp32")
    openvino = _openvino()
    core = openvino.Core()
    graph = core.read_model(str(path))
    graph.reshape({graph.input(0).any_name: list(shape)})
    config = {
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": "1",
        "INFERENCE_NUM_THREADS": str(torch.get_num_threads()),
        "INFERENCE_PRECISION_HINT": PRECISIONS[dtype],
    }
    return core.compile_model(graph, "CPU", config)


def agrees(outputs: np.ndarray, expected: torch.Tensor, dtype: str) -> tuple[bool, float, float]:
    """``(ok, max abs difference, max |logit|)``: fp32 as the ONNX export is checked (1e-4, scaled by the logits
    past 1); bf16 within optimize()'s bf16 tolerance, relative to the largest logit."""
    difference = (torch.from_numpy(np.asarray(outputs)).float() - expected).abs().max().item()
    scale = expected.abs().max().item()
    bound = onnx_bound(scale) if dtype == "fp32" else TOLERANCE[dtype] * max(scale, 1e-12)
    return difference <= bound, difference, scale


@torch.no_grad()
def openvino_runner(model: nn.Module, x: torch.Tensor, dtype: str = "fp32") -> Runner:
    """A call that runs ``model`` (eval) in OpenVINO on ``x``, and how far its outputs are from PyTorch's (checked)."""
    model = model.eval()
    with tempfile.TemporaryDirectory() as directory:
        path = export(model, x[:1], "onnx", Path(directory) / "model.onnx")
        compiled = compile_onnx(path, tuple(x.shape), dtype)  # read into memory: the file may go
    request = compiled.create_infer_request()
    feed = {0: x.numpy()}
    outputs = request.infer(feed)[compiled.output(0)]
    ok, difference, scale = agrees(outputs, model(x), dtype)
    if not ok:
        raise OptionError(
            f"OpenVINO ({dtype}) differs from PyTorch by {difference:.2e} (outputs up to {scale:.2e}); not timed"
        )
    return Runner(lambda: request.infer(feed), difference / max(scale, 1e-12))
