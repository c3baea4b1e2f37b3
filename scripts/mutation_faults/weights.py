# SPDX-License-Identifier: MIT
"""Faults in released weights and `--weights` files: conversion, numerics, download hashes, the file checks."""

from .fault import Fault

FILES = "tests/test_weights_files.py"

FAULTS = (
    Fault(
        "source_settings_ignored", "released weights built with convzoo's defaults, not their source's numerics",
        "convzoo/weights/pretrained.py",
        "settings = {**weights.settings, **kwargs}", "settings = dict(kwargs)",
        ("tests/test_pretrained.py::test_timm_weights_build_the_model_with_timm_numerics",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "weights_hash_unchecked", "a download's SHA-256 prefix is not compared", "convzoo/download.py",
        "return len(expected) >= 8 and actual.startswith(expected.lower())", "return True",
        ("tests/test_pretrained.py::test_a_wrong_hash_is_refused_and_leaves_nothing",
         "tests/test_pretrained.py::test_a_cached_file_that_was_altered_is_refused"),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "safetensors_order", "safetensors tensors paired in file order, not module order", "convzoo/weights/convert.py",
        "theirs = in_reference_order(state_dict, source, model_name)", "theirs = OrderedDict(state_dict)",
        ("tests/test_pretrained.py::test_timm_weights_build_the_model_with_timm_numerics",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "weights_missing_tensor_ignored", "a weights file missing a tensor loads, leaving it at its initialization",
        "convzoo/weights/convert.py",
        "if missing or result.unexpected_keys:", "if result.unexpected_keys:",
        (f"{FILES}::test_a_weights_file_missing_a_tensor_is_refused_naming_it",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "weights_same_shape_head_dropped", "a classifier of the model's own shape is left out as if of another class "
        "count", "convzoo/weights/pretrained.py",
        'if not k.startswith("head.fc.") or v.shape == ours[k].shape}',
        'if not k.startswith("head.fc.")}',
        (f"{FILES}::test_our_own_state_dict_loads_whole_classifier_included",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "weights_wrong_shape_traceback", "a tensor of another shape under one of our names is a RuntimeError "
        "traceback, not a CheckpointError naming it", "convzoo/weights/pretrained.py",
        "    try:\n"
        "        load_converted(model, state)\n"
        "    except RuntimeError as error:  # one of our names, a tensor of another shape\n"
        '        raise CheckpointError(f"{path} does not fit {model_name}: '
        '{ckpt.state_dict_mismatch(error)}") from None\n',
        "    load_converted(model, state)\n",
        (f"{FILES}::test_a_tensor_of_another_shape_is_a_checkpoint_error_naming_it",),
        origin="history 9309b81: an RGB run's weights passed as --weights for grey images ended in "
        "load_state_dict's traceback (found by writing this fault's test)",
    ),
    Fault(
        "weights_checkpoint_not_ema", "--weights takes a checkpoint's raw weights though the run kept an EMA",
        "convzoo/training/setup.py",
        "state = checkpoint.ema_state or checkpoint.model_state", "state = checkpoint.model_state",
        (f"{FILES}::test_weights_from_a_checkpoint_are_its_ema_weights",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "weights_model_name_ignored", "--weights forgets which model a checkpoint was trained as",
        "convzoo/training/setup.py",
        "state, source_name = start.state, start.model_name or config.model",
        "state, source_name = start.state, config.model",
        (f"{FILES}::test_another_models_checkpoint_is_refused_as_weights",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "reference_reorder_wrong_sibling", "timm's RegNet shortcut moved before the wrong module of its block",
        "convzoo/models/regnet.py",
        'reference_reorder={"timm": (("downsample", "conv1"),)},',
        'reference_reorder={"timm": (("downsample", "conv2"),)},',
        ("tests/test_regnet.py::test_shortcut_weights_land_in_the_shortcut",),
        origin="planned: the hole the guide had (issue 34): placed after conv1, the shortcut pairs with conv1 and "
        "conv1 with the shortcut, equal shapes both, so the weights swap silently",
    ),
)  # fmt: skip
