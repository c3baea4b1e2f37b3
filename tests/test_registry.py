# SPDX-License-Identifier: MIT
import pytest

import convzoo
from convzoo.errors import OptionError
from convzoo.registry import get_entry

CLASSIC_NAMES = (  # AlexNet to ResNeXt, and the CIFAR nets
    ["alexnet"]
    + [f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")]
    + ["googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    + ["wide_resnet50_2", "wide_resnet101_2", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"]
    + [f"cifar_resnet{d}" for d in (20, 32, 44, 56, 110, 1202)]
    + [f"cifar_plain{d}" for d in (20, 32, 44, 56, 110)]
    + ["cifar_preact_resnet164", "cifar_preact_resnet1001"]
)
EFFICIENT_NAMES = (  # depthwise-separable and compound-scaled nets, ConvNeXt
    ["xception", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"]
    + [f"efficientnet_b{i}" for i in range(8)]
    + ["efficientnet", "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"]
    + ["convnext_tiny", "convnext_small", "convnext_base", "convnext_large"]
)


@pytest.mark.parametrize("name", CLASSIC_NAMES + EFFICIENT_NAMES)
def test_every_listed_name_is_registered(name):
    assert name in convzoo.list_models()


def test_list_models_is_sorted_and_filters_with_wildcards():
    names = convzoo.list_models()
    assert names == sorted(names)
    assert convzoo.list_models("resnet*") == ["resnet101", "resnet152", "resnet18", "resnet34", "resnet50"]
    assert convzoo.list_models("vgg1?_bn") == ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]
    assert convzoo.list_models("nothing*") == []


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match="unknown model 'resnet51'.*resnet50"):
        convzoo.create_model("resnet51")
    with pytest.raises(ValueError, match="did you mean.*vgg16"):
        convzoo.model_info("vgg_16")


def test_model_info_fields():
    info = convzoo.model_info("resnet50")
    assert info["family"] == "resnet"
    assert info["paper"] == "Deep Residual Learning for Image Recognition"
    assert info["arxiv"] == "1512.03385" and info["year"] == 2015
    assert info["default_input_size"] == (3, 224, 224)
    assert info["param_count"] == 25_557_032
    assert info["reference"] == {"torchvision": "resnet50", "timm": "resnet50"}
    assert convzoo.model_info("xception")["reference"] == {"timm": "legacy_xception"}
    assert convzoo.model_info("cifar_resnet20")["reference"] == {}


@pytest.mark.parametrize("name", convzoo.list_models())
def test_every_model_has_complete_metadata(name):
    info = convzoo.model_info(name)
    assert info["paper"] and info["arxiv"] and 2012 <= info["year"] <= 2022
    assert len(info["default_input_size"]) == 3
    assert info["param_count"] > 0


def test_bad_arguments_are_rejected_clearly():
    with pytest.raises(ValueError, match="does not use stochastic depth"):
        convzoo.create_model("resnet18", drop_path_rate=0.1)
    with pytest.raises(ValueError, match="num_classes"):
        convzoo.create_model("resnet18", num_classes=-1)
    assert get_entry("alexnet").min_input_size == 63


@pytest.mark.parametrize(
    "name,options,words",
    [
        ("convnext_tiny", {"drop_path_rate": 1.5}, r"drop_path_rate must be in \[0, 1\), got 1.5"),
        ("resnet18", {"drop_rate": -0.5}, r"drop_rate must be in \[0, 1\), got -0.5"),
        ("cifar_resnet20", {"shortcut": "C"}, "shortcut must be 'A', 'B' or 'none'"),
        ("googlenet", {"transform_input": True, "in_chans": 1}, "3-channel"),
    ],
)
def test_option_values_a_user_can_fix_are_option_errors(name, options, words):
    """Options reachable from a script or the CLI fail as the taxonomy's one-line error, not a bare ValueError."""
    with pytest.raises(OptionError, match=words):
        convzoo.create_model(name, **options)
