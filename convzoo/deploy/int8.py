# SPDX-License-Identifier: MIT
"""Static int8 quantization of an exported ONNX model, with ONNX Runtime's quantizer.

Int8 convolutions move a quarter of the bytes of fp32 and run on the CPU's
integer dot-product units (AVX2 ``vpmaddubsw``, AVX-512 VNNI, AMX-INT8). Static
quantization fixes every activation's scale from a few calibration batches of
real images, so inference needs no runtime statistics (Jacob et al. 2018,
arXiv:1712.05877). We use ONNX Runtime's well-kept quantizer rather than our own:

1. ``quant_pre_process``: shape inference and graph clean-up (batch norms already
   folded by the exporter);
2. ``quantize_static`` in QDQ format: weights int8 per output channel (symmetric),
   activations uint8 per tensor, MinMax calibration;
3. a check that every convolution really got quantized weights (a quantizer that
   silently skips operators would leave an fp32 model with a misleading name),
   and the top-1 agreement with the fp32 model on held-out real images.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ExportError


@dataclass(frozen=True)
class QuantizedConvs:
    convolutions: int  # Conv nodes in the fp32 model
    quantized: int  # Conv nodes of the int8 model whose weight comes from a DequantizeLinear of int8 data


def quantize_onnx(fp32_path: str | Path, int8_path: str | Path, calibration: Iterable[np.ndarray]) -> QuantizedConvs:
    """Write the int8 (QDQ) version of ``fp32_path`` to ``int8_path``, calibrated on ``calibration`` batches."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self, batches: Iterable[np.ndarray]) -> None:
            self.batches: Iterator[np.ndarray] = iter(batches)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"images": batch.astype(np.float32)}

    with tempfile.TemporaryDirectory() as directory:
        prepared = Path(directory) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(int8_path),
            Batches(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    counted = count_quantized_convs(fp32_path, int8_path)
    if counted.quantized < counted.convolutions:
        raise ExportError(
            f"only {counted.quantized} of {counted.convolutions} convolutions were quantized; the int8 model would "
            "mostly run in fp32"
        )
    return counted


def count_quantized_convs(fp32_path: str | Path, int8_path: str | Path) -> QuantizedConvs:
    import onnx

    fp32 = onnx.load(str(fp32_path))
    int8 = onnx.load(str(int8_path))
    produced_by = {output: node for node in int8.graph.node for output in node.output}
    initializers = {tensor.name: tensor.data_type for tensor in int8.graph.initializer}
    quantized = 0
    for node in int8.graph.node:
        if node.op_type != "Conv":
            continue
        source = produced_by.get(node.input[1])
        if source is not None and source.op_type == "DequantizeLinear":
            quantized += initializers.get(source.input[0]) == onnx.TensorProto.INT8
    convolutions = sum(node.op_type == "Conv" for node in fp32.graph.node)
    return QuantizedConvs(convolutions, quantized)


def top1_agreement(fp32_path: str | Path, int8_path: str | Path, batches: Iterable[np.ndarray]) -> tuple[float, int]:
    """The fraction of images whose top-1 class is the same in both models, and the number of images."""
    from .export import onnxruntime_session

    sessions = [onnxruntime_session(path) for path in (fp32_path, int8_path)]
    same = count = 0
    for batch in batches:
        feed = {"images": batch.astype(np.float32)}
        fp32, int8 = (session.run(None, feed)[0].argmax(1) for session in sessions)
        same += int((fp32 == int8).sum())
        count += len(batch)
    return same / max(count, 1), count
