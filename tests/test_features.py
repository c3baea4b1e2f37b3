# SPDX-License-Identifier: MIT
"""Every model as a backbone (``features_only``): timm's outputs, channels and reductions; weights load directly."""

import pytest
import torch
from equivalence_helpers import build_reference, randomize_, relative_error

import convzoo
from convzoo.errors import OptionError
from convzoo.models.features import FeatureNet
from convzoo.registry import count_params, get_entry
from convzoo.weights.from_reference import settings_of

TOLERANCE = 1e-4


def _architecture(name: str) -> str:
    with torch.device("meta"):
        return type(convzoo.create_model(name)).__name__


# The smallest variant of each architecture (model class): the forward checks run real arithmetic.
ONE_PER_FAMILY = {}
for _name in sorted(convzoo.list_models(), key=count_params, reverse=True):
    ONE_PER_FAMILY[_architecture(_name)] = _name
# Each of those that timm also has, plus a bottleneck ResNet and a width-scaled EfficientNet.
WITH_TIMM = sorted(
    {n for n in ONE_PER_FAMILY.values() if "timm" in get_entry(n).reference} | {"resnet50", "efficientnet_b3"}
)


@pytest.mark.parametrize("name", ["resnet50", "efficientnet_b0", "mobilenet_v3_large", "convnext_tiny"])
def test_features_equal_timms_features_only_model(name):
    """Same random weights (converted from timm's full model) → the same feature maps as timm's features_only."""
    import timm

    timm_name = get_entry(name).reference["timm"]
    full = randomize_(build_reference(name, "timm"))
    reference = timm.create_model(timm_name, features_only=True, pretrained=False).eval()
    state = full.state_dict()  # timm's FeatureListNet flattens the first level: "stages.0" -> "stages_0"
    reference.load_state_dict(
        {key: state[key if key in state else key.replace("_", ".", 1)] for key in reference.state_dict()}
    )
    settings = settings_of(full, name)  # timm's batch-norm eps where it differs from torchvision's
    converted = convzoo.convert_state_dict(full.state_dict(), source="timm", model_name=name, **settings)
    ours = convzoo.create_model(name, features_only=True, **settings)
    ours.load_state_dict(converted)  # a full model's state dict: the head's keys are skipped
    ours.eval()
    assert ours.feature_info.channels() == reference.feature_info.channels()
    assert ours.feature_info.reduction() == reference.feature_info.reduction()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        for mine, theirs in zip(ours(x), reference(x), strict=True):
            assert mine.shape == theirs.shape
            assert relative_error(mine, theirs) <= TOLERANCE


@pytest.mark.parametrize("name", WITH_TIMM)
def test_channels_and_reductions_equal_timms(name):
    """An independent count: timm's own feature_info for the same architecture (built on the meta device)."""
    import timm

    reference_name = get_entry(name).reference["timm"]
    kwargs = get_entry(name).reference_kwargs.get("timm", {})
    with torch.device("meta"):
        reference = timm.create_model(reference_name, features_only=True, pretrained=False, **kwargs)
        ours = convzoo.create_model(name, features_only=True)
    assert ours.feature_info.channels() == reference.feature_info.channels()
    assert ours.feature_info.reduction() == reference.feature_info.reduction()


# Families timm does not have: the stage ends from the papers' tables (channels, stride).
HAND_COUNTED = {
    "alexnet": ([64, 192, 256, 256], [4, 8, 16, 32]),  # conv1 /4, pool /8, pool /16, last pool /32
    "googlenet": ([64, 192, 480, 832, 1024], [2, 4, 8, 16, 32]),  # conv1, conv3, 3b, 4e, 5b (Table 1)
    "vgg16_bn": ([64, 128, 256, 512, 512, 512], [1, 2, 4, 8, 16, 32]),
    "cifar_resnet56": ([16, 32, 64], [1, 2, 4]),  # He et al. 2016, section 4.2: 16/32/64 filters on 32/16/8 px
    "cifar_preact_resnet164": ([64, 128, 256], [1, 2, 4]),  # bottleneck outputs are 4× wider
}


@pytest.mark.parametrize("name", sorted(HAND_COUNTED))
def test_channels_and_reductions_without_a_timm_model(name):
    with torch.device("meta"):
        ours = convzoo.create_model(name, features_only=True)
    assert (ours.feature_info.channels(), ours.feature_info.reduction()) == HAND_COUNTED[name]


@pytest.mark.parametrize("name", sorted(ONE_PER_FAMILY.values()))
def test_feature_maps_are_the_full_models_intermediate_outputs(name):
    """Each returned map equals what the full model computes at that module, and has the announced shape."""
    torch.manual_seed(0)
    entry = get_entry(name)
    full = randomize_(convzoo.create_model(name))
    backbone = FeatureNet(full, input_size=entry.default_input_size)
    side = 32 if entry.native_small_input else 96
    x = torch.randn(2, 3, side, side)
    captured = {}
    hooks = [
        full.get_submodule(module).register_forward_hook(
            lambda _m, _i, out, module=module: captured.__setitem__(module, out.clone())
        )
        for module in backbone.feature_info.module_name()
    ]
    with torch.no_grad():
        last = full.forward_features(x)
        features = backbone(x)
    for hook in hooks:
        hook.remove()
    for index, feature in enumerate(features):
        info = backbone.feature_info[index]
        assert feature.shape[1] == info["num_chs"]
        assert info["reduction"] / 1.5 <= side / feature.shape[-1] <= info["reduction"] * 1.5  # odd sizes round
        assert torch.equal(feature, captured[info["module"]])  # not changed in place by later modules
    if not hasattr(full, "conv_head") or "conv_head" in full.feature_path():  # the path is all of forward_features
        assert torch.equal(features[-1], last)


def test_state_dict_keeps_the_full_models_keys_and_loads_full_weights(tmp_path):
    full = randomize_(convzoo.create_model("resnet18", num_classes=10))
    path = tmp_path / "resnet18.pt"
    torch.save(full.state_dict(), path)
    backbone = convzoo.create_model("resnet18", features_only=True, out_indices=(1, 2), pretrained=path, num_classes=10)
    assert set(backbone.state_dict()) == {
        k for k in full.state_dict() if k.split(".")[0] in ("stem", "layer1", "layer2")
    }
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, full.state_dict()[key])
    assert backbone.feature_info.reduction() == [4, 8]
    fresh = convzoo.create_model("resnet18", features_only=True, out_indices=(1, 2))
    fresh.load_state_dict(full.state_dict())  # strict: every key of the kept modules must be there
    with pytest.raises(RuntimeError, match="Missing key"):
        fresh.load_state_dict({k: v for k, v in full.state_dict().items() if not k.startswith("layer2.")})


def test_bad_out_indices_say_what_exists():
    with pytest.raises(OptionError, match="5 feature stages"):
        convzoo.create_model("resnet18", features_only=True, out_indices=(5,))
    with pytest.raises(OptionError, match="features_only"):
        convzoo.create_model("resnet18", out_indices=(1,))
    assert convzoo.create_model("resnet18", features_only=True, out_indices=(-1,)).feature_info.reduction() == [32]


def test_summary_features_lists_the_stages_with_torchvisions_parameter_counts(capsys):
    import json

    import torchvision

    from convzoo.cli import main

    assert main(["summary", "resnet50", "--features", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["feature map"] for row in rows] == ["64×112×112", "256×56×56", "512×28×28", "1024×14×14", "2048×7×7"]
    with torch.device("meta"):
        reference = torchvision.models.resnet50()
    up_to_layer1 = [reference.conv1, reference.bn1, reference.layer1]  # an independent count
    assert rows[1]["params up to here"] == f"{sum(p.numel() for m in up_to_layer1 for p in m.parameters()):,}"
