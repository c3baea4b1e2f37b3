"""Our models reproduce torchvision/timm outputs with converted weights (random weights, randomized BN)."""

import pytest
import torch
from equivalence_helpers import converted_pair, relative_error

import convzoo
from convzoo.registry import get_entry

PAIRS = [(name, source) for name in convzoo.list_models() for source in get_entry(name).reference]
TOLERANCE = 1e-4


@pytest.mark.parametrize("name,source", PAIRS, ids=[f"{n}-{s}" for n, s in PAIRS])
def test_same_outputs_as_reference(name, source):
    reference, ours = converted_pair(name, source)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(ours(x), reference(x)) <= TOLERANCE


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
