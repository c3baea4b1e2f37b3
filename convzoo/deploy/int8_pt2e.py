# SPDX-License-Identifier: MIT
"""Static int8 quantization inside PyTorch: PT2E with the x86 Inductor quantizer, lowered by Inductor.

The ONNX Runtime path (:mod:`convzoo.deploy.int8`) needs an export and a second runtime; this one keeps
the model a PyTorch module. It uses torchao's PT2E flow, the quantization path PyTorch documents for
x86 CPUs ("PyTorch 2 Export Quantization with X86 Backend through Inductor"):

1. ``torch.export`` captures the eval-mode model as an ATen graph (batch norms are folded into the
   convolutions while preparing);
2. ``prepare_pt2e`` with ``X86InductorQuantizer`` inserts observers: int8 weights per output channel
   (symmetric), uint8 activations per tensor, as the oneDNN int8 kernels want them;
3. calibration batches of real images fix every activation's scale (Jacob et al. 2018, arXiv:1712.05877);
4. ``convert_pt2e`` leaves quantize/dequantize pairs around each convolution, which ``torch.compile``
   with freezing pattern-matches into oneDNN int8 convolutions (fused with their add and ReLU). Without
   compiling, the same graph would run fp32 convolutions on dequantized tensors: slower, not faster.

As with ONNX Runtime, the result is refused unless every convolution's weight was quantized: a
quantizer that skips operators silently would leave an fp32 model under an int8 name.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ..errors import ExportError, OptionError
from .int8 import QuantizedConvs

CONVOLUTIONS = ("aten.conv2d", "aten.convolution")


def quantize_pt2e(model: nn.Module, example_input: torch.Tensor, calibration: Iterable[torch.Tensor]) -> nn.Module:
    """An int8 graph module of eval-mode ``model`` (uncompiled: see the module docstring), calibrated on batches."""
    try:
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
        from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86
    except ImportError as error:
        raise OptionError(
            f"int8 in PyTorch needs torchao ({error}); pip install 'convzoo[int8]', or export with --int8 to ONNX"
        ) from None
    batch = torch.export.Dim("batch", min=1)
    # strict (TorchDynamo) tracing: the non-strict graph of torch 2.14 leaves batch norms whose outputs the
    # quantizer's conv-add-ReLU patterns cannot match ("Input partition has more than one output node")
    exported = torch.export.export(model.eval(), (example_input,), dynamic_shapes=({0: batch},), strict=True).module()
    quantizer = x86.X86InductorQuantizer().set_global(x86.get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(exported, quantizer)
    seen = 0
    with torch.no_grad():
        for images in calibration:
            prepared(images)
            seen += 1
    if seen == 0:
        raise OptionError("int8 needs at least one calibration batch of real images")
    converted = convert_pt2e(prepared)
    counted = count_quantized_convs(converted)
    if counted.quantized < counted.convolutions:
        raise ExportError(
            f"only {counted.quantized} of {counted.convolutions} convolutions were quantized; the int8 model would "
            "mostly run in fp32"
        )
    return converted


def count_quantized_convs(graph_module: torch.fx.GraphModule) -> QuantizedConvs:
    """Convolutions in the converted graph, and those whose weight comes from dequantizing int8 data."""
    convolutions = quantized = 0
    for node in graph_module.graph.nodes:
        if node.op != "call_function" or not str(node.target).startswith(CONVOLUTIONS):
            continue
        convolutions += 1
        weight = node.args[1]
        if isinstance(weight, torch.fx.Node) and "dequantize_per_channel" in str(weight.target):
            quantized += weight.args[-1] == torch.int8  # (input, scales, zero points, axis, min, max, dtype)
    return QuantizedConvs(convolutions, quantized)
