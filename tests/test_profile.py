# SPDX-License-Identifier: MIT
"""The cost model against torch's FlopCounterMode, hand arithmetic and published figures."""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import convzoo
from convzoo.registry import get_entry


def _flop_counter_macs(model, x):
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name", convzoo.list_models())
def test_macs_equal_flop_counter_at_two_sizes(name):
    model = convzoo.create_model(name).eval()
    smallest = get_entry(name).min_input_size
    for size in (max(smallest, 32), max(smallest, 32) + 17):
        profile = convzoo.profile(model, (3, size, size))
        assert profile.total_macs == _flop_counter_macs(model, torch.randn(1, 3, size, size)), size
        assert profile.total_params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "name,published_gmacs",
    [
        ("resnet50", 4.09),
        ("vgg16", 15.47),
        ("googlenet", 1.50),
        ("efficientnet_b0", 0.39),
        ("mobilenet_v2", 0.30),
        ("convnext_tiny", 4.46),
    ],
)
def test_gmacs_agree_with_published_figures(name, published_gmacs):
    gmacs = convzoo.profile(name, (3, 224, 224)).total_macs / 1e9
    assert abs(gmacs - published_gmacs) / published_gmacs < 0.015


def _single(layer, shape):
    profile = convzoo.profile(layer, shape[1:], batch_size=shape[0])
    assert len(profile.rows) == 1
    return profile.rows[0]


@pytest.mark.parametrize(
    "layer,shape,macs,params,rf,jump",
    [
        (nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False), (1, 8, 10, 10), 10 * 10 * 16 * 2 * 9, 16 * 2 * 9, 3, 1),
        (nn.Conv2d(8, 8, 3, padding=1, groups=8), (2, 8, 10, 10), 2 * 10 * 10 * 8 * 1 * 9, 8 * 9 + 8, 3, 1),
        (nn.Conv2d(4, 4, 3, padding=2, dilation=2), (1, 4, 10, 10), 10 * 10 * 4 * 4 * 9, 4 * 4 * 9 + 4, 5, 1),
        (nn.Conv2d(3, 6, 3, stride=2, padding=1), (1, 3, 9, 9), 5 * 5 * 6 * 3 * 9, 6 * 3 * 9 + 6, 3, 2),
        (nn.Conv2d(3, 6, (1, 5), padding=(0, 2)), (1, 3, 4, 8), 4 * 8 * 6 * 3 * 5, 6 * 3 * 5 + 6, (1, 5), 1),
    ],
)
def test_convolution_arithmetic(layer, shape, macs, params, rf, jump):
    row = _single(layer, shape)
    assert row.macs == macs and row.params == params
    assert row.receptive_field == (rf if isinstance(rf, tuple) else (rf, rf))
    assert row.jump == (jump, jump)


def test_linear_arithmetic():
    row = _single(nn.Linear(20, 7), (4, 20))
    assert row.macs == 4 * 20 * 7 and row.params == 20 * 7 + 7
    assert row.activation_bytes == 4 * 7 * 4


def test_pooling_arithmetic():
    row = _single(nn.MaxPool2d(2, 2), (1, 3, 8, 8))
    assert row.macs == 0 and row.other_ops["pool"] == 3 * 4 * 4 * 4
    assert row.receptive_field == (2, 2) and row.jump == (2, 2) and row.stride == (2, 2)
    row = _single(nn.AvgPool2d(3, stride=1, padding=1), (1, 2, 5, 5))
    assert row.other_ops["pool"] == 2 * 5 * 5 * 9


def test_adaptive_pooling_sees_the_whole_map():
    row = _single(nn.AdaptiveAvgPool2d(1), (1, 5, 6, 6))
    assert row.other_ops["pool"] == 5 * 6 * 6
    assert row.receptive_field == (6, 6)
    assert _single(nn.AdaptiveAvgPool2d(1), (1, 5, 9, 13)).output_shape == (1, 5, 1, 1)


class Functional(nn.Module):
    """Work done by functional calls and operators, with no submodule."""

    def forward(self, x):
        y = F.relu(x)
        z = y + x
        gate = torch.sigmoid(z.mean((2, 3), keepdim=True))
        w = z * gate
        return torch.cat([w, x], 1)


def test_functional_calls_and_operators_are_counted():
    row = _single(Functional(), (1, 4, 5, 5))
    n = 4 * 5 * 5
    assert row.other_ops["activation"] == n + 4  # relu, sigmoid on the (1, 4, 1, 1) gate
    assert row.other_ops["elementwise"] == 2 * n  # the add and the multiply
    assert row.other_ops["pool"] == n  # the mean reads every element
    assert row.other_ops["copy"] == 2 * n  # cat copies both inputs
    assert row.type.startswith("Functional")


def test_stacked_3x3_convolutions_see_5x5_and_7x7():
    stack = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(3)])
    fields = [row.receptive_field for row in convzoo.profile(stack, (1, 16, 16)).rows]
    assert fields == [(3, 3), (5, 5), (7, 7)]


def test_branches_take_the_widest_field():
    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.small, self.large = nn.Conv2d(1, 1, 1), nn.Conv2d(1, 1, 5, padding=2)

        def forward(self, x):
            return self.small(x) + self.large(x)

    profile = convzoo.profile(TwoBranches(), (1, 9, 9))
    functional = next(row for row in profile.rows if row.path == "(model)")
    assert functional.receptive_field == (5, 5) and functional.other_ops["elementwise"] == 81


def test_known_receptive_fields():
    rows = convzoo.profile("resnet50").grouped(1)
    assert {row.path: row.receptive_field[0] for row in rows if row.receptive_field}["layer4"] == 427
    vgg = convzoo.profile("vgg16").grouped(1)
    assert next(row for row in vgg if row.path == "features").receptive_field == (212, 212)


def test_grouping_keeps_the_totals_and_exports_parse():
    profile = convzoo.profile("cifar_resnet20", (3, 32, 32))
    for depth in (0, 1, 2):
        groups = profile.grouped(depth)
        assert sum(g.macs for g in groups) == profile.total_macs
        assert sum(g.params for g in groups) == profile.total_params
        assert sum(g.activation_bytes for g in groups) == profile.activation_bytes
    assert len(profile.grouped(0)) == 1
    data = json.loads(profile.to_json())
    assert data["totals"]["macs"] == profile.total_macs and len(data["rows"]) == len(profile.rows)
    assert profile.to_csv().splitlines()[0].startswith("layer,type,output,params,MACs")
    assert "| layer |" in profile.to_markdown(depth=1)


def test_totals_and_weight_sizes():
    profile = convzoo.profile("vgg16")
    assert profile.total_params == 138_357_544
    assert profile.weight_mib("fp32") == pytest.approx(138_357_544 * 4 / 2**20)
    assert profile.weight_mib("int8") == pytest.approx(profile.weight_mib("fp32") / 4)
    assert profile.activation_bytes > 0 and profile.total_other_ops > 0


def test_idle_auxiliary_heads_still_count_their_parameters():
    model = convzoo.create_model("googlenet", aux_logits=True)
    profile = convzoo.profile(model, (3, 64, 64))
    assert sum(row.params for row in profile.rows) == profile.total_params


def test_bad_input_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="at least 63x63"):
        convzoo.profile("alexnet", (3, 32, 32))
    with pytest.raises(ValueError, match="positive"):
        convzoo.profile("resnet18", (3, 0, 32))
    with pytest.raises(ValueError, match="cannot run"):
        convzoo.profile(nn.Conv2d(3, 3, 7), (3, 4, 4))


@pytest.mark.parametrize("name", ["googlenet", "mobilenet_v3_small", "efficientnet_b0"])
def test_shape_only_count_equals_the_real_forward_count(name):
    """The README's GMACs column is counted on the meta device; it must equal the count of a real forward."""
    from convzoo.cli.models import shape_only_macs

    assert shape_only_macs(name, (3, 224, 224)) == convzoo.profile(name, (3, 224, 224)).total_macs
