# SPDX-License-Identifier: MIT
"""Registry-wide checks of the shared interface: every model, every check (a new model is tested at once)."""

import io

import pytest
import torch

import convzoo
from convzoo.registry import get_entry

ALL = convzoo.list_models()
SMALL_CAPABLE = [n for n in ALL if get_entry(n).small_min_input_size is not None]
DROP_PATH = [n for n in ALL if get_entry(n).uses_drop_path]


def _close(a, b, tol=1e-4):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item() <= tol


@pytest.mark.parametrize("name", ALL)
def test_interface_at_minimum_size(name):
    """Any classes, one input channel, batch 1, non-square input at the minimum size; eval and train."""
    entry = get_entry(name)
    model = convzoo.create_model(name, num_classes=7, in_chans=1).eval()
    size = entry.min_input_size
    x = torch.randn(1, 1, size, size + 5)
    with torch.no_grad():
        logits = model(x)
        features = model.forward_features(x)
        embedding = model.forward_head(features, pre_logits=True)
        logits_cl = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    assert logits.shape == (1, 7) and torch.isfinite(logits).all()
    assert features.shape[:2] == (1, model.num_features)
    assert embedding.shape == (1, model.head.in_features)
    assert _close(logits_cl, logits), "channels_last changes the output"
    model.train()
    model(torch.randn(2, 1, size, size)).sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", ALL)
def test_state_dict_round_trip_and_reset_classifier(name):
    model = convzoo.create_model(name, num_classes=5).eval()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = convzoo.create_model(name, num_classes=5).eval()
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    size = get_entry(name).min_input_size
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        assert torch.equal(model(x), clone(x))
    model.reset_classifier(3)
    assert model.num_classes == 3
    with torch.no_grad():
        assert model(x).shape == (1, 3)
    model.reset_classifier(0)
    with torch.no_grad():
        assert model(x).shape == (1, model.head.in_features)


@pytest.mark.parametrize("name", SMALL_CAPABLE)
def test_small_input_variant_takes_its_minimum_size(name):
    size = get_entry(name).small_min_input_size
    model = convzoo.create_model(name, num_classes=10, in_chans=1, small_input=True).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, size, size)).shape == (1, 10)
        assert model(torch.randn(2, 1, size, size + 8)).shape == (2, 10)


def _block_drop_rates(model: torch.nn.Module, attribute: str = "drop_path") -> list[float]:
    """Each residual block's stochastic-depth rate, in order (a block built with rate 0 holds an Identity)."""
    return [float(getattr(getattr(m, attribute), "p", 0.0)) for m in model.modules() if hasattr(m, attribute)]


@pytest.mark.parametrize("name", DROP_PATH)
def test_drop_path_rates_grow_linearly_over_the_blocks(name):
    """Block i of n drops with rate · i / n (EfficientNet, torchvision and timm) or rate · i / (n − 1) (ConvNeXt:
    torchvision's ``stage_block_id / (total_stage_blocks - 1)``, timm's ``linspace(0, rate, n)``)."""
    model = convzoo.create_model(name, drop_path_rate=0.3)
    rates = _block_drop_rates(model)
    n = len(rates)
    divisor = n - 1 if name.startswith("convnext") else n
    assert n >= 16
    assert rates == pytest.approx([0.3 * i / divisor for i in range(n)], abs=1e-12)


@pytest.mark.parametrize("name", ["convnext_tiny", "efficientnet_b0", "efficientnet_v2_s"])
def test_drop_path_rates_per_block_equal_torchvisions(name):
    import torchvision

    ours = _block_drop_rates(convzoo.create_model(name, drop_path_rate=0.3))
    theirs = _block_drop_rates(
        torchvision.models.get_model(name, weights=None, stochastic_depth_prob=0.3), "stochastic_depth"
    )
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_drop_rate_sets_the_classifier_dropout():
    model = convzoo.create_model("resnet18", drop_rate=0.25)
    assert model.head.dropout.p == 0.25
    assert isinstance(convzoo.create_model("efficientnet_b0", drop_rate=0.0).head.dropout, torch.nn.Identity)


def test_googlenet_aux_heads_only_in_training():
    model = convzoo.create_model("googlenet", aux_logits=True, num_classes=10)
    out = model.train()(torch.randn(2, 3, 64, 64))
    assert out.logits.shape == out.aux_logits1.shape == out.aux_logits2.shape == (2, 10)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 64, 64)).shape == (1, 10)


def test_googlenet_paper_5x5_option_uses_5x5_kernels():
    model = convzoo.create_model("googlenet", paper_5x5=True)
    assert model.inception3a.branch3[1][0].kernel_size == (5, 5)
    assert convzoo.create_model("googlenet").inception3a.branch3[1][0].kernel_size == (3, 3)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 1000)


def test_cifar_resnet_shortcut_options_and_plain_nets():
    a = convzoo.create_model("cifar_resnet20", num_classes=10)
    b = convzoo.create_model("cifar_resnet20", num_classes=10, shortcut="B")
    plain = convzoo.create_model("cifar_plain20", num_classes=10)

    def count(m):
        return sum(p.numel() for p in m.parameters())

    assert count(a) == count(plain) < count(b)  # option A adds no parameters
    assert all(block.shortcut is None for block in plain.stage2)


def test_mobilenet_width_multiplier_thins_the_network():
    full = convzoo.create_model("mobilenet_v1")
    half = convzoo.create_model("mobilenet_v1", width_mult=0.5)
    assert half.num_features == 512 and full.num_features == 1024
    assert convzoo.create_model("mobilenet_v2", width_mult=0.5).blocks[0].depthwise[0].in_channels == 16
