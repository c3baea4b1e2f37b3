# SPDX-License-Identifier: MIT
"""Export a trained model: ONNX (verified in onnxruntime), TorchScript, or ``torch.export``; batch axis dynamic.

Exports take normalized float input of the model's channels and size; a JSON
file beside the export records the classes, the normalization and the input
size, so a deployment can prepare images the same way ``convzoo predict`` does.
ONNX uses torch's TorchScript-based exporter (``dynamo=False``), which needs
no extra package; the result is checked against PyTorch in onnxruntime.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import files
from ..errors import OptionError
from ..formats import to_json

FORMATS = ("onnx", "torchscript", "torch-export")


def export(model: nn.Module, example: torch.Tensor, fmt: str, path: str | Path) -> Path:
    """Write ``model`` (eval mode) in ``fmt`` to ``path`` with a dynamic batch dimension."""
    path = Path(path)
    model = model.eval()
    if fmt == "onnx":
        _require("onnx")
    if fmt not in FORMATS:
        raise OptionError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files.atomic_write(path, lambda file: _write(model, example, fmt, file))  # a full disk keeps the old file
    return path


def _write(model: nn.Module, example: torch.Tensor, fmt: str, file) -> None:
    if fmt == "onnx":
        torch.onnx.export(
            model,
            (example,),
            file,
            input_names=["images"],
            output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
    elif fmt == "torchscript":
        with torch.no_grad():
            torch.jit.save(torch.jit.trace(model, example), file)
    else:
        batch = torch.export.Dim("batch", min=1, max=4096)
        program = torch.export.export(model, (example,), dynamic_shapes={"x": {0: batch}})
        buffer = io.BytesIO()  # torch.export.save accepts a path ending in .pt2 or a buffer
        torch.export.save(program, buffer)
        file.write(buffer.getvalue())


def _require(package: str) -> None:
    try:
        __import__(package)
    except ImportError:
        raise OptionError(f"{package} is not installed; `pip install 'convzoo[onnx]'`") from None


def onnxruntime_session(path: str | Path, *, profile_prefix: str | None = None):
    """An ONNX Runtime CPU session as convzoo runs and times them: all graph optimisations, torch's thread count,
    and no spinning threads (idle ORT threads otherwise keep a core busy after each run, which slows whatever
    runs next, such as the other candidate of an interleaved benchmark)."""
    _require("onnxruntime")
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(path: str | Path, images: torch.Tensor) -> torch.Tensor:
    session = onnxruntime_session(path)
    (output,) = session.run(["logits"], {"images": images.numpy().astype(np.float32)})
    return torch.from_numpy(output)


ONNX_TOLERANCE = 1e-4


def onnx_bound(scale: float) -> float:
    """The largest max |difference| an export may show against PyTorch whose largest |logit| is ``scale``."""
    return ONNX_TOLERANCE * max(1.0, scale)


@torch.no_grad()
def onnx_agrees(path: str | Path, model: nn.Module, images: torch.Tensor) -> tuple[bool, float, float]:
    """``(ok, max abs difference, max |logit|)``: ok when the difference is ≤ 1e-4 × max(1, max |logit|).

    Trained models have logits of order 10 and meet 1e-4 absolutely. Deep nets at random
    initialization (a residual net of 100+ layers in eval mode) can have logits of order 1e5, where fp32
    rounding alone exceeds 1e-4; the bound then scales with the outputs.
    """
    expected = model.eval()(images)
    difference = (run_onnx(path, images) - expected).abs().max().item()
    scale = expected.abs().max().item()
    return difference <= onnx_bound(scale), difference, scale


def write_metadata(path: str | Path, metadata: dict[str, Any]) -> Path:
    target = Path(str(path) + ".json")
    files.write_text(target, to_json(metadata, indent=2) + "\n")
    return target
