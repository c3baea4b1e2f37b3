# SPDX-License-Identifier: MIT
"""Our models reproduce torchvision/timm outputs with converted weights (random weights, randomized BN)."""

import pytest
import torch
from equivalence_helpers import build_reference, converted_pair, randomize_, relative_error

import convzoo
from convzoo.registry import get_entry

PAIRS = [(name, source) for name in convzoo.list_models() for source in get_entry(name).reference]
TOLERANCE = 1e-4


@pytest.mark.parametrize("name,source", PAIRS, ids=[f"{n}-{s}" for n, s in PAIRS])
def test_from_reference_gives_the_reference_outputs(name, source):
    """The reference as its library builds it by default (timm's MobileNetV3 with eps 1e-5 included)."""
    reference = randomize_(build_reference(name, source))
    ours = convzoo.from_reference(reference)
    assert not ours.training and type(ours).__module__.startswith("convzoo.models")
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(ours(x), reference(x)) <= TOLERANCE


def test_from_reference_reads_class_count_channels_and_settings():
    import timm
    import torchvision

    reference = randomize_(timm.create_model("mobilenetv3_small_100", num_classes=7, in_chans=1))
    ours = convzoo.from_reference(reference)
    assert ours.num_classes == 7 and ours.stem[0].in_channels == 1
    assert {m.eps for m in ours.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {1e-5}
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        assert relative_error(ours(x), reference(x)) <= TOLERANCE
    headless = randomize_(timm.create_model("resnet18", num_classes=0))
    assert convzoo.from_reference(headless)(torch.randn(1, 3, 64, 64)).shape == (1, 512)
    googlenet = randomize_(torchvision.models.googlenet(init_weights=False, aux_logits=False, transform_input=True))
    ours = convzoo.from_reference(googlenet)
    assert ours.transform_input
    with torch.no_grad():
        assert relative_error(ours(x.expand(2, 3, 64, 64)), googlenet(x.expand(2, 3, 64, 64))) <= TOLERANCE
    with pytest.raises(convzoo.registry.OptionError, match="torchvision or timm"):
        convzoo.from_reference(torch.nn.Conv2d(3, 3, 3))


def test_googlenet_with_aux_heads_matches_torchvision():
    reference, ours = converted_pair("googlenet", "torchvision", aux_logits=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(ours(x), reference(x)) <= TOLERANCE
        for aux, channels in (("aux1", 512), ("aux2", 528)):
            features = torch.randn(2, channels, 14, 14)
            assert relative_error(getattr(ours, aux)(features), getattr(reference, aux)(features)) <= TOLERANCE


def test_googlenet_transform_input_matches_torchvision():
    reference, ours = converted_pair("googlenet", "torchvision", transform_input=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(ours(x), reference(x)) <= TOLERANCE


@pytest.mark.parametrize("name", [n for n in convzoo.list_models() if get_entry(n).reference])
def test_parameter_count_equals_reference(name):
    from equivalence_helpers import build_reference

    entry = get_entry(name)
    source = "torchvision" if "torchvision" in entry.reference else "timm"
    with torch.device("meta"):
        reference = build_reference(name, source)
    expected = sum(p.numel() for p in reference.parameters())
    assert convzoo.model_info(name)["param_count"] == expected


@pytest.mark.parametrize(
    "name,paper_millions",
    [
        ("cifar_resnet20", 0.27),
        ("cifar_resnet56", 0.85),
        ("cifar_resnet110", 1.7),
        ("cifar_resnet1202", 19.4),
        ("cifar_preact_resnet164", 1.7),
        ("cifar_preact_resnet1001", 10.2),
    ],
)
def test_cifar_parameter_counts_agree_with_the_papers(name, paper_millions):
    with torch.device("meta"):
        model = convzoo.create_model(name, num_classes=10)
    millions = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(millions - paper_millions) / paper_millions <= 0.02


def test_googlenet_training_loss_adds_its_auxiliary_classifiers():
    model = convzoo.create_model("googlenet", aux_logits=True, num_classes=10).train()
    output = model(torch.randn(2, 3, 96, 96))
    loss, logits = model.training_loss(output, lambda out: out.square().mean())
    main, aux2, aux1 = output  # torchvision's order
    assert logits is main
    assert torch.allclose(
        loss, main.square().mean() + 0.3 * aux2.square().mean() + 0.3 * aux1.square().mean(), rtol=1e-6
    )
    plain = convzoo.create_model("resnet18", num_classes=10).train()
    out = plain(torch.randn(2, 3, 64, 64))
    assert plain.training_loss(out, lambda o: o.sum())[1] is out


@pytest.mark.parametrize("name", [n for n in convzoo.list_models() if "torchvision" in get_entry(n).reference])
def test_defaults_have_torchvisions_numerics(name):
    """Built with defaults, a model computes what torchvision's does: from_reference needs no batch-norm override."""
    from convzoo.weights.from_reference import settings_of

    with torch.device("meta"):
        reference = build_reference(name, "torchvision")
    assert not {"bn_eps", "bn_momentum"} & set(settings_of(reference, name))
