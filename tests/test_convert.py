# SPDX-License-Identifier: MIT
import pytest
import torch
from equivalence_helpers import build_reference, randomize_, relative_error

import convzoo
from convzoo.weights import adapt_input_conv, load_converted


def test_one_channel_input_sums_rgb_filters():
    reference = randomize_(build_reference("resnet18", "torchvision"))
    converted = convzoo.convert_state_dict(
        reference.state_dict(), source="torchvision", model_name="resnet18", in_chans=1
    )
    ours = convzoo.create_model("resnet18", in_chans=1).eval()
    ours.load_state_dict(converted)
    grey = torch.randn(2, 1, 64, 64)
    with torch.no_grad():  # a grey image as one channel equals the same image repeated as RGB
        assert relative_error(ours(grey), reference(grey.expand(-1, 3, -1, -1))) <= 1e-4


def test_other_channel_counts_repeat_the_filters_and_keep_the_scale():
    weight = torch.randn(8, 3, 3, 3)
    six = adapt_input_conv(weight, 6)
    torch.testing.assert_close(six.sum(dim=1), weight.sum(dim=1))  # a constant image: same response
    five = adapt_input_conv(weight, 5)
    assert five.shape == (8, 5, 3, 3)
    torch.testing.assert_close(five[:, 3:], weight[:, :2] * 3 / 5)


def test_other_class_count_leaves_the_classifier_out():
    reference = build_reference("mobilenet_v2", "torchvision")
    converted = convzoo.convert_state_dict(
        reference.state_dict(), source="torchvision", model_name="mobilenet_v2", num_classes=10
    )
    assert not any(key.startswith("head.fc") for key in converted)
    model = convzoo.create_model("mobilenet_v2", num_classes=10)
    load_converted(model, converted)
    assert torch.equal(model.stem[0].weight, reference.features[0][0].weight)


def test_mismatched_state_dict_is_rejected_with_a_clear_message():
    other = build_reference("resnet34", "torchvision").state_dict()
    with pytest.raises(ValueError, match="resnet18"):
        convzoo.convert_state_dict(other, source="torchvision", model_name="resnet18")
    with pytest.raises(ValueError, match="no torchvision counterpart"):
        convzoo.convert_state_dict({}, source="torchvision", model_name="xception")
    with pytest.raises(ValueError, match="source must be"):
        convzoo.convert_state_dict({}, source="keras", model_name="resnet18")


def test_same_shaped_but_different_architecture_is_caught():
    # resnext50 and resnet50 differ in the 3x3 convolutions' shapes
    other = build_reference("resnext50_32x4d", "torchvision").state_dict()
    with pytest.raises(ValueError, match="does not match"):
        convzoo.convert_state_dict(other, source="torchvision", model_name="resnet50")
