# SPDX-License-Identifier: MIT
"""ONNX Runtime as a reference for ``convzoo bench``: what many users deploy on a CPU instead of PyTorch.

The model is exported as ``convzoo export`` does (opset 17, dynamic batch), loaded
into an ``InferenceSession`` with all graph optimisations and as many threads as
torch uses, and checked against PyTorch on the benchmark's own input before it is
timed: a fast wrong answer is not a reference.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import nn

from ..deploy.export import export, onnx_agrees, onnxruntime_session
from ..errors import OptionError
from .timing import Runner


def onnxruntime_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


@torch.no_grad()
def onnxruntime_runner(model: nn.Module, x: torch.Tensor) -> Runner:
    """A call that runs ``model`` (fp32, eval) in ONNX Runtime on ``x``, and how far its outputs are from PyTorch's."""
    with tempfile.TemporaryDirectory() as directory:
        path = export(model.eval(), x[:1], "onnx", Path(directory) / "model.onnx")
        ok, difference, scale = onnx_agrees(path, model, x)
        if not ok:
            raise OptionError(f"the ONNX export differs from PyTorch by {difference:.2e} (outputs up to {scale:.2e})")
        session = onnxruntime_session(path)  # read into memory: the file may go
    feed = {"images": x.numpy()}
    return Runner(lambda: session.run(None, feed), difference / max(scale, 1e-12))
