# SPDX-License-Identifier: MIT
"""EfficientNet's compound scaling as arithmetic: d = α^φ, w = β^φ, r = γ^φ with the rounding rules."""

import math

import pytest
import torch

import convzoo
from convzoo.layers import make_divisible
from convzoo.models.efficientnet import B0_STAGES, compound_scaling


@pytest.mark.parametrize("phi", [0, 1, 2, 3, 4])
def test_network_follows_the_formula(phi):
    alpha, beta, gamma = 1.2, 1.1, 1.15
    with torch.device("meta"):
        model = convzoo.create_model("efficientnet", phi=phi)
    depths = [len(stage) for stage in model.stages]
    widths = [stage[-1].project[0].out_channels for stage in model.stages]
    assert depths == [math.ceil(stage.repeats * alpha**phi) for stage in B0_STAGES]
    assert widths == [make_divisible(stage.out_channels * beta**phi, 8) for stage in B0_STAGES]
    assert all(w % 8 == 0 for w in widths)
    assert model.stem[0].out_channels == make_divisible(32 * beta**phi, 8)
    assert model.resolution == round(224 * gamma**phi / 8) * 8
    assert model.resolution % 8 == 0


def test_other_coefficients_can_be_tried():
    scaling = compound_scaling(2, alpha=1.5, beta=1.0, gamma=1.0)
    assert scaling.depth == 2.25 and scaling.width == 1.0 and scaling.resolution == 224


def test_phi_zero_is_efficientnet_b0():
    b0 = convzoo.create_model("efficientnet_b0").eval()
    phi0 = convzoo.create_model("efficientnet", phi=0).eval()
    phi0.load_state_dict(b0.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(b0(x), phi0(x))
    assert phi0.resolution == 224
