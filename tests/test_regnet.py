# SPDX-License-Identifier: MIT
"""RegNet: the width rule against torchvision's, the choice of timm twin, and the shortcut that timm registers last.

The registry-wide tests (equivalence, parameter counts, MACs, features) cover the registered variants; these check
what is particular to the family and to the converter's ``reference_reorder`` hook.
"""

from collections import OrderedDict

import pytest
import torch
from equivalence_helpers import build_reference, randomize_, relative_error

import convzoo
from convzoo.models.regnet import RegNetBlock, RegNetConfig
from convzoo.registry import get_entry
from convzoo.weights import convert as convert_module
from convzoo.weights.convert import in_our_order

TOLERANCE = 1e-4
NAMES = ["regnet_x_400mf", "regnet_y_400mf"]

# torchvision's builders: BlockParams.from_init_params(depth, w_0, w_a, w_m, group_width, se_ratio)
TORCHVISION_PARAMETERS = {
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16, None),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16, None),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24, None),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48, None),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120, None),
    "regnet_x_16gf": (22, 216, 55.59, 2.1, 128, None),
    "regnet_x_32gf": (23, 320, 69.86, 2.0, 168, None),
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25),
    "regnet_y_8gf": (17, 192, 76.82, 2.19, 56, 0.25),
    "regnet_y_16gf": (18, 200, 106.23, 2.48, 112, 0.25),
    "regnet_y_32gf": (20, 232, 115.89, 2.53, 232, 0.25),
    "regnet_y_128gf": (27, 456, 160.83, 2.52, 264, 0.25),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMETERS))
def test_width_rule_gives_torchvisions_stages(name):
    """Stage widths, depths and group widths from the four numbers, for every RegNet torchvision has."""
    from torchvision.models.regnet import BlockParams

    depth, w_0, w_a, w_m, group_width, se_ratio = TORCHVISION_PARAMETERS[name]
    theirs = BlockParams.from_init_params(depth=depth, w_0=w_0, w_a=w_a, w_m=w_m, group_width=group_width)
    ours = RegNetConfig(depth, w_0, w_a, w_m, group_width, se_ratio or 0.0).stages()
    assert [tuple(stage) for stage in ours] == list(zip(theirs.widths, theirs.depths, theirs.group_widths, strict=True))


def test_registered_configs_are_torchvisions():
    from convzoo.models.regnet import VARIANTS

    for name, config in VARIANTS.items():
        *rule, se_ratio = TORCHVISION_PARAMETERS[name]
        assert [config.depth, config.w_0, config.w_a, config.w_m, config.group_width] == rule
        assert config.se_ratio == (se_ratio or 0.0)


def test_timms_regnetx_004_rounds_differently_and_its_tv_twin_is_the_reference():
    """timm's regnetx_004 rounds the last stage to 384 (half to even), torchvision to 400: another network."""
    import timm

    with torch.device("meta"):
        plain = timm.create_model("regnetx_004")
        twin = timm.create_model(get_entry("regnet_x_400mf").reference["timm"])
        ours = convzoo.create_model("regnet_x_400mf")
    assert plain.num_features == 384 and twin.num_features == ours.num_features == 400
    assert sum(p.numel() for p in plain.parameters()) == 5_157_512
    assert sum(p.numel() for p in twin.parameters()) == sum(p.numel() for p in ours.parameters()) == 5_495_976


def _blocks_with_projection(model):
    return [m for m in model.modules() if isinstance(m, RegNetBlock) and not isinstance(m.shortcut, torch.nn.Identity)]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("source", ["torchvision", "timm"])
def test_shortcut_weights_land_in_the_shortcut(name, source):
    """By value, block by block: the reference's projection becomes our shortcut, its first 1×1 our conv1.

    The two have equal shapes in every RegNet block (bottleneck ratio 1), so only the order decides which is which.
    """
    reference = randomize_(build_reference(name, source))
    ours = convzoo.create_model(name)
    ours.load_state_dict(convzoo.convert_state_dict(reference.state_dict(), source=source, model_name=name))
    if source == "torchvision":
        projections = [m for m in reference.modules() if getattr(m, "proj", None) is not None]
        pairs = [(b.proj[0], b.f.a[0]) for b in projections]
    else:
        projections = [m for m in reference.modules() if type(m).__name__ == "Bottleneck"]
        pairs = [(b.downsample.conv, b.conv1.conv) for b in projections if hasattr(b.downsample, "conv")]
    blocks = _blocks_with_projection(ours)
    assert len(blocks) == len(pairs) == 4
    for block, (projection, conv1) in zip(blocks, pairs, strict=True):
        assert block.shortcut[0].weight.shape == block.conv1[0].weight.shape
        assert torch.equal(block.shortcut[0].weight, projection.weight)
        assert torch.equal(block.conv1[0].weight, conv1.weight)


def test_a_block_with_equal_shortcut_and_main_branch_shapes_equals_both_references():
    """One downsampling block, 64 → 64 channels: shortcut and conv1 are both (64, 64, 1, 1) with equal batch norms.

    Paired by position after ``in_our_order`` (what the converter does), the block computes what torchvision's and
    timm's do; with the shortcut and conv1 tensors exchanged (what pairing timm's order unchanged would give for
    these two) it does not: the comparison catches the swap.
    """
    from timm.models.regnet import Bottleneck
    from torchvision.models.regnet import ResBottleneckBlock

    torch.manual_seed(0)
    references = {
        "torchvision": ResBottleneckBlock(64, 64, 2, torch.nn.BatchNorm2d, torch.nn.ReLU, 16, 1.0, 0.25),
        "timm": Bottleneck(64, 64, stride=2, group_size=16, se_ratio=0.25),
    }
    moves = get_entry("regnet_y_400mf").reference_reorder
    x = torch.randn(2, 64, 16, 16)
    for source, reference in references.items():
        reference = randomize_(reference)
        theirs = in_our_order(reference.state_dict(), moves.get(source, ()))
        ours = RegNetBlock(64, 64, 2, group_width=16, se_ratio=0.25).eval()
        template = ours.state_dict()
        assert [t.shape for t in template.values()] == [t.shape for t in theirs.values()]
        ours.load_state_dict(OrderedDict(zip(template, theirs.values(), strict=True)))
        with torch.no_grad():
            assert relative_error(ours(x), reference(x)) <= TOLERANCE, source
            swapped = {
                k.replace("shortcut.", "@").replace("conv1.", "shortcut.").replace("@", "conv1."): v
                for k, v in ours.state_dict().items()
            }
            ours.load_state_dict(swapped)
            assert relative_error(ours(x), reference(x)) > 0.01, source


def test_in_our_order_moves_each_modules_child_before_its_sibling():
    keys = ["stem.w", "s1.b1.conv1.w", "s1.b1.conv3.w", "s1.b1.downsample.conv.w", "s1.b1.downsample.bn.b",
            "s1.b2.conv1.w", "s1.b2.conv3.w", "s2.downsample.w", "head.fc.w"]  # fmt: skip
    reordered = list(in_our_order(dict.fromkeys(keys, torch.zeros(1)), (("downsample", "conv1"),)))
    assert reordered == ["stem.w", "s1.b1.downsample.conv.w", "s1.b1.downsample.bn.b", "s1.b1.conv1.w",
                         "s1.b1.conv3.w", "s1.b2.conv1.w", "s1.b2.conv3.w", "s2.downsample.w", "head.fc.w"]  # fmt: skip
    assert list(in_our_order(dict.fromkeys(keys, torch.zeros(1)), ())) == keys


@pytest.mark.parametrize("name", NAMES)
def test_timm_weights_load_from_a_sorted_file_and_refuse_without_the_hook(name, monkeypatch):
    """A safetensors file stores timm's tensors sorted by name: the stored timm order, then the hook, restore ours."""
    reference = randomize_(build_reference(name, "timm"))
    state = reference.state_dict()
    shuffled = OrderedDict(sorted(state.items()))
    ours = convzoo.create_model(name).eval()
    ours.load_state_dict(convzoo.convert_state_dict(shuffled, source="timm", model_name=name))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(ours(x), reference(x)) <= TOLERANCE
    monkeypatch.setattr(convert_module, "in_our_order", lambda state_dict, moves: OrderedDict(state_dict))
    with pytest.raises(convzoo.errors.CheckpointError, match="does not match"):
        convzoo.convert_state_dict(state, source="timm", model_name=name)


@pytest.mark.parametrize("name", NAMES)
def test_features_equal_timms_features_only_model(name):
    """Stem and the four stages, with timm's weights converted, equal timm's features_only outputs."""
    import timm

    full = randomize_(build_reference(name, "timm"))
    reference = timm.create_model(get_entry(name).reference["timm"], features_only=True, pretrained=False).eval()
    state = full.state_dict()
    reference.load_state_dict({key: state[key] for key in reference.state_dict()})
    ours = convzoo.create_model(name, features_only=True)
    ours.load_state_dict(convzoo.convert_state_dict(state, source="timm", model_name=name))
    ours.eval()
    assert ours.feature_info.channels() == reference.feature_info.channels()
    assert ours.feature_info.reduction() == reference.feature_info.reduction() == [2, 4, 8, 16, 32]
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        for mine, theirs in zip(ours(x), reference(x), strict=True):
            assert relative_error(mine, theirs) <= TOLERANCE


@pytest.mark.parametrize("name", NAMES)
def test_onnx_round_trip(name, tmp_path):
    """As tests/test_deploy.py's ONNX check (a hand-picked list there): export, onnxruntime, another batch size."""
    pytest.importorskip("onnxruntime")
    from convzoo.deploy.export import export, onnx_agrees

    model = convzoo.create_model(name, num_classes=10).eval()
    path = export(model, torch.randn(2, 3, 64, 64), "onnx", tmp_path / f"{name}.onnx")
    ok, difference, scale = onnx_agrees(path, model, torch.randn(3, 3, 64, 64))
    assert ok and difference <= 1e-5 * scale


@pytest.mark.parametrize("name", NAMES)
def test_gmacs_are_torchvisions_published_figure(name):
    """The "400MF" in the name: torchvision's metadata gives 0.414 and 0.402 GFLOPS (multiply-adds) at 224 px."""
    from torchvision.models import get_model_weights

    published = get_model_weights(name).DEFAULT.meta["_ops"]
    assert round(convzoo.profile(name, (3, 224, 224)).total_macs / 1e9, 3) == published
