# SPDX-License-Identifier: MIT
"""Faults in deployment: batch-norm folding, ONNX export, int8, the optimised path."""

from .fault import Fault

DEPLOY_CHECKS = "tests/test_deploy_checks.py"

FAULTS = (
    Fault(
        "fold_without_shift", "batch-norm folding keeps the scale but drops the shift (beta - mean * scale)",
        "convzoo/deploy/optimize.py",
        "                container._modules[first] = fuse_conv_bn_eval(conv, norm)\n",
        "                container._modules[first] = fuse_conv_bn_eval(conv, norm)\n"
        "                container._modules[first].bias.data.zero_()\n",
        ("tests/test_deploy.py::test_batch_norm_folding_keeps_outputs",),
        quick=True,
        origin="history 4c476ac: the wrong fold the commit's test injects (a fold that forgets the batch norm's "
        "shift), re-planted in fold_batch_norms itself",
    ),
    Fault(
        "onnx_absolute_tolerance", "ONNX agreement bound 1e-4 absolute, not scaled by the largest logit",
        "convzoo/deploy/export.py",
        "    return ONNX_TOLERANCE * max(1.0, scale)",
        "    return ONNX_TOLERANCE",
        (f"{DEPLOY_CHECKS}::test_onnx_agreement_scales_with_logits_far_above_one",),
        origin="history 11e9eec: export refused any ONNX file differing by more than 1e-4 absolutely, so deep nets at "
        "random initialization (logits of 1e5, fp32 rounding above 1e-4) failed their export",
    ),
    Fault(
        "onnx_mean_difference", "ONNX agreement judged on the mean absolute difference, not the largest",
        "convzoo/deploy/export.py",
        "difference = (run_onnx(path, images) - expected).abs().max().item()",
        "difference = (run_onnx(path, images) - expected).abs().mean().item()",
        ("tests/test_deploy.py::test_onnx_agrees_rejects_a_model_that_changed",
         f"{DEPLOY_CHECKS}::test_onnx_agreement_scales_with_logits_far_above_one"),
        origin="planned: one logit off by 10x the bound hides in the mean over a batch's logits",
    ),
    Fault(
        "optimize_in_place", "optimize folds and converts the caller's model instead of a copy",
        "convzoo/deploy/optimize.py",
        "optimized = copy.deepcopy(model).eval()", "optimized = model.eval()",
        (f"{DEPLOY_CHECKS}::test_optimize_leaves_the_callers_model_as_it_was",),
        origin="planned: survived at first (the optimized outputs still match); the test was written to catch it",
    ),
    Fault(
        "int8_agreement_per_batch", "int8 top-1 agreement divided by the number of batches, not of images",
        "convzoo/deploy/int8.py",
        "count += len(batch)", "count += 1",
        (f"{DEPLOY_CHECKS}::test_int8_top1_agreement_is_a_fraction_of_images_not_of_batches",),
        origin="planned: written together with the test that catches it (the int8 export test asserts the image "
        "count too, but trains a checkpoint and quantizes first)",
    ),
    Fault(
        "int8_any_dequantized_weight", "a convolution counts as int8 whatever type its dequantized weight has",
        "convzoo/deploy/int8.py",
        "quantized += initializers.get(source.input[0]) == onnx.TensorProto.INT8",
        "quantized += source.input[0] in initializers",
        (f"{DEPLOY_CHECKS}::test_int8_counts_only_convolutions_whose_weights_are_int8",),
        origin="planned: written together with the test that catches it",
    ),
)  # fmt: skip
