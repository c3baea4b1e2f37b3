# SPDX-License-Identifier: MIT
"""Faults in the architectures and the cost model: outputs or counts that a test compares with a reference."""

from .fault import INDEPENDENT, Fault

FAULTS = (
    Fault(
        "residual_add", "ResNet's basic block drops its shortcut", "convzoo/models/resnet.py",
        "        x = self.conv2(x)\n        x += shortcut", "        x = self.conv2(x)\n        x = x + 0 * shortcut",
        ("tests/test_equivalence.py::test_from_reference_gives_the_reference_outputs[resnet18-torchvision]",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "grouped_conv_macs", "grouped convolutions counted with one input channel too many per group",
        "convzoo/analysis/counting.py",
        "c_out, c_in_per_group, *kernel = weight.shape",
        "c_out, c_in_per_group, *kernel = weight.shape\n    c_in_per_group += int(c_in_per_group != x.shape[1])",
        ("tests/test_profile.py::test_macs_equal_flop_counter_at_two_sizes[mobilenet_v2]",
         "tests/test_profile.py::test_grouping_keeps_the_totals_and_exports_parse"),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "batch_norm_eps", "MobileNetV3 built with batch-norm eps 1e-5 instead of torchvision's 1e-3",
        "convzoo/models/mobilenet_v3.py",
        "bn_eps: float = 1e-3,", "bn_eps: float = 1e-5,",
        ("tests/test_equivalence.py::test_defaults_have_torchvisions_numerics[mobilenet_v3_small]",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "option_a_offset", "option-A shortcut subsamples from pixel (1, 1) instead of (0, 0)",
        "convzoo/models/cifar_resnet.py",
        "x = x[:, :, :: self.stride, :: self.stride]", "x = x[:, :, 1 :: self.stride, 1 :: self.stride]",
        (f"{INDEPENDENT}::test_option_a_shortcut_is_strided_sampling_padded_with_zero_channels",),
        quick=True,
        origin="planned: survived at first; tests/test_independent_checks.py was written to catch it",
    ),
    Fault(
        "drop_path_rescale", "DropPath keeps samples without the 1/keep rescaling", "convzoo/layers/drop_path.py",
        "return x * mask.div_(keep)", "return x * mask",
        (f"{INDEPENDENT}::test_drop_path_scales_kept_samples_by_one_over_keep",
         f"{INDEPENDENT}::test_drop_path_preserves_the_expectation"),
        quick=True,
        origin="planned: survived at first; tests/test_independent_checks.py was written to catch it",
    ),
)  # fmt: skip
