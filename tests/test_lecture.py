# SPDX-License-Identifier: MIT
"""The lecture's numbers, recomputed from real modules."""

import pytest

from convzoo.report import lecture


def test_one_by_one_reduction_reproduces_the_lecture():
    facts = lecture.one_by_one_reduction().facts
    assert facts["direct"] == 14 * 14 * 48 * 480 * 25 == 112_896_000
    assert facts["reduce"] == 14 * 14 * 16 * 480 == 1_505_280
    assert facts["conv"] == 14 * 14 * 48 * 16 * 25 == 3_763_200
    assert round(facts["reduced"] / 1e6, 1) == 5.3


def test_global_pooling_holds_no_weights():
    facts = lecture.global_pooling().facts
    assert facts["fc_weights"] == 7 * 7 * 1024 * 1024
    assert facts["gap_params"] == 0
    assert set(facts["googlenet_logits"].values()) == {(1, 1000)}


def test_vgg16_figures():
    facts = lecture.vgg16().facts
    assert facts["params"] == 138_357_544
    assert facts["mib"] == pytest.approx(527.8, abs=0.1)
    assert facts["fc_share"] == pytest.approx(0.894, abs=0.001)
    assert facts["stacks"][2][0] == 5 and facts["stacks"][3][0] == 7  # receptive fields
    assert facts["stacks"][2][1] < facts["stacks"][2][3] and facts["stacks"][3][1] < facts["stacks"][3][3]


def test_googlenet_and_resnet_figures():
    assert lecture.googlenet().facts["ratio"] == pytest.approx(138_357_544 / 6_624_904)
    params = lecture.resnet().facts["params"]
    assert params == {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


def test_compound_scaling_roughly_doubles_cost_per_step():
    facts = lecture.efficientnet(phis=range(3), published=("efficientnet_b0", "efficientnet_b1")).facts
    ratios = [facts["phi"][phi] / facts["phi"][0] for phi in range(3)]
    assert ratios[0] == 1 and 1.8 < ratios[1] < 2.5 and 3.6 < ratios[2] < 5.5
    b0, formula0 = facts["published"]["efficientnet_b0"]
    assert b0 == formula0 and round(b0 / 1e9, 2) == 0.39


def test_mbconv_is_cheaper_than_the_bottleneck():
    facts = lecture.mbconv_vs_bottleneck().facts
    (mb_params, mb_macs), (bn_params, bn_macs) = facts.values()
    assert mb_params < bn_params and mb_macs < bn_macs


def test_the_lecture_figures_are_compared_not_asserted():
    assert lecture._against_lecture(112.9, 112.896) == "112.9M agrees"
    assert lecture._against_lecture(51.3, 51.380224) == "51.3M agrees (rounded down from 51.380M)"
    assert lecture._against_lecture(5.3, 5.5) == "5.3M differs from the measured 5.5M"
