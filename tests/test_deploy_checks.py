# SPDX-License-Identifier: MIT
"""The checks deployment relies on, each against a figure computed here: ONNX agreement at any logit scale,
optimize leaving the caller's model alone, and int8's top-1 agreement and convolution count on tiny ONNX models."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

import convzoo
from convzoo.deploy import optimize
from convzoo.deploy.export import export, onnx_agrees


def test_onnx_agreement_scales_with_logits_far_above_one(tmp_path):
    """Deep nets at random initialization reach logits of 1e5, where fp32 rounding alone exceeds 1e-4: the same
    export is accepted, and a logit moved by five times the relative bound is still refused."""
    model = convzoo.create_model("cifar_resnet20", num_classes=10).eval()
    with torch.no_grad():
        model.head.fc.weight.mul_(1e6)
    path = export(model, torch.randn(2, 3, 32, 32), "onnx", tmp_path / "m.onnx")
    images = torch.randn(3, 3, 32, 32)
    ok, difference, scale = onnx_agrees(path, model, images)
    assert scale > 1e4 and ok and difference <= 1e-5 * scale
    with torch.no_grad():
        model.head.fc.bias[3] += 5e-4 * scale
    assert not onnx_agrees(path, model, images)[0]


def test_optimize_leaves_the_callers_model_as_it_was():
    model = convzoo.create_model("resnet18", num_classes=10).eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
    before = copy.deepcopy(model.state_dict())
    norms = sum(isinstance(module, nn.BatchNorm2d) for module in model.modules())
    _, report = optimize(model, torch.randn(2, 3, 64, 64))
    assert report.folded_batch_norms == norms == 20
    assert sum(isinstance(module, nn.BatchNorm2d) for module in model.modules()) == 20
    after = model.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[key], before[key]) for key in before)


class _Linear(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3, bias=False)
        self.fc.weight.data.copy_(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def test_int8_top1_agreement_is_a_fraction_of_images_not_of_batches(tmp_path):
    from convzoo.deploy.int8 import top1_agreement

    first = torch.eye(3, 4)
    second = first.clone()
    second[0, 0] = -1.0  # images whose first pixel is the largest of the first three move to another class
    paths = []
    for index, weight in enumerate((first, second)):
        paths.append(export(_Linear(weight), torch.randn(2, 1, 2, 2), "onnx", tmp_path / f"{index}.onnx"))
    generator = np.random.default_rng(0)
    batches = [generator.standard_normal((5, 1, 2, 2)).astype(np.float32) for _ in range(3)] + [
        generator.standard_normal((2, 1, 2, 2)).astype(np.float32)
    ]
    images = np.concatenate(batches).reshape(-1, 4)
    same = int((images[:, :3].argmax(1) == (images[:, :3] * [-1, 1, 1]).argmax(1)).sum())
    assert 0 < same < 17
    agreement, count = top1_agreement(*paths, batches)
    assert count == 17 and agreement == pytest.approx(same / 17)


class _TwoConvolutions(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(torch.relu(self.first(x))).mean((2, 3))


def test_int8_counts_only_convolutions_whose_weights_are_int8(tmp_path):
    """ONNX Runtime's quantizer asked for uint8 weights: every convolution is quantized, none in int8."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from convzoo.deploy.int8 import count_quantized_convs, quantize_onnx

    torch.manual_seed(0)
    fp32 = export(_TwoConvolutions().eval(), torch.randn(2, 1, 8, 8), "onnx", tmp_path / "fp32.onnx")
    batches = [np.random.default_rng(seed).standard_normal((4, 1, 8, 8)).astype(np.float32) for seed in range(2)]
    counted = quantize_onnx(fp32, tmp_path / "int8.onnx", batches)
    assert (counted.convolutions, counted.quantized) == (2, 2)

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = iter(batches)

        def get_next(self):
            batch = next(self.left, None)
            return None if batch is None else {"images": batch}

    uint8 = tmp_path / "uint8.onnx"
    quantize_static(
        str(fp32),
        str(uint8),
        Batches(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QUInt8,
    )
    counted = count_quantized_convs(fp32, uint8)
    assert (counted.convolutions, counted.quantized) == (2, 0)
