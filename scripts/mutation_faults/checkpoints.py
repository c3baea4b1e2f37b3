# SPDX-License-Identifier: MIT
"""Faults in reading checkpoints: safety, and loading for eval, predict and export."""

from .fault import INDEPENDENT, Fault

LOADING = "tests/test_checkpoint_loading.py"
CRAFTED = "tests/test_crafted_checkpoints.py::test_a_crafted_model_description_is_one_line_in_every_command_cheaply"
EDITED = "tests/test_cli_errors.py::test_checkpoint_with_wrong_model_description"

FAULTS = (
    Fault(
        "unsafe_load", "checkpoints unpickled without weights_only", "convzoo/checkpoint/safe_read.py",
        'torch.load(file, map_location="cpu", weights_only=True)',
        'torch.load(file, map_location="cpu", weights_only=False)',
        ("tests/test_checkpoint_safety.py::test_every_command_that_reads_a_checkpoint_refuses_a_crafted_pickle",
         f"{INDEPENDENT}::test_reading_a_crafted_checkpoint_runs_no_code"),
        quick=True,
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "weights_error_names_no_tensor", "a checkpoint's weights that do not fit are reported by load_state_dict's "
        "first line, which names no tensor", "convzoo/checkpoint/format.py",
        'f"checkpoint weights do not fit {self.model.name}: {state_dict_mismatch(error)}"',
        'f"checkpoint weights do not fit {self.model.name}: {str(error).splitlines()[0]}"',
        ("tests/test_crafted_checkpoints.py::test_a_wrong_shape_weights_error_names_the_tensor",
         f"{LOADING}::test_a_checkpoint_holding_another_models_weights_is_refused_naming_a_tensor"),
        origin="history 5ec44bc: the message ended at \"Error(s) in loading state_dict for CifarResNet:\"",
    ),
    Fault(
        "class_names_count_unchecked", "a checkpoint naming fewer classes than its model has is accepted",
        "convzoo/checkpoint/format.py",
        "        if len(self.classes) != self.num_classes:\n"
        '            problems.append(f"it names {len(self.classes):,} classes for a model of '
        '{short(self.num_classes)}")\n',
        "",
        (f"{CRAFTED}[fewer-class-names]",),
        origin="history 5ec44bc: before the model description's lengths were checked against each other, a "
        "checkpoint with 2 class names for 10 outputs loaded and predict failed with a traceback",
    ),
    Fault(
        "model_argument_types_unchecked", "the checkpoint's create_model arguments reach the builder unchecked",
        "convzoo/checkpoint/format.py",
        "        for key, value in self.kwargs.items():\n"
        "            expected = MODEL_ARGUMENT_TYPES.get(key, int | float | str | bool | None)\n"
        "            if not fits(value, expected):\n"
        "                raise CheckpointError(\n"
        '                    f"the checkpoint\'s model argument {name_of(key)}={short(value)} should be "\n'
        '                    f"{describe_type(expected)}; the checkpoint was edited or is corrupt"\n'
        "                )\n",
        "",
        (f"{EDITED}[eval-num_classes ten]", f"{EDITED}[predict-num_classes ten]", f"{CRAFTED}[kwarg-a-list]"),
        origin="history baeecac: ModelSpec.build passed the checkpoint's kwargs straight to create_model, so "
        "num_classes='ten' was a traceback in eval, predict and export",
    ),
    Fault(
        "raw_weights_not_ema", "eval, predict and export build the raw weights though the run kept an EMA",
        "convzoo/checkpoint/format.py",
        "state = self.ema_state if use_ema and self.ema_state else self.model_state",
        "state = self.model_state",
        (f"{LOADING}::test_build_model_takes_the_ema_weights_and_the_raw_ones_on_request",
         f"{LOADING}::test_predict_uses_the_ema_weights_and_the_checkpoints_normalization"),
        origin="planned: survived at first (no test looked at which weights a command used); "
        "tests/test_checkpoint_loading.py was written to catch it",
    ),
    Fault(
        "checkpoint_mean_std_swapped", "the checkpoint's mean and std swapped in the input preparation",
        "convzoo/checkpoint/format.py",
        "return InputAdapter(channels, self.in_chans, self.mean, self.std, self.min_size)",
        "return InputAdapter(channels, self.in_chans, self.std, self.mean, self.min_size)",
        (f"{LOADING}::test_predict_uses_the_ema_weights_and_the_checkpoints_normalization",),
        origin="planned: written together with the test that catches it",
    ),
    Fault(
        "eval_raw_weights", "eval measures the raw weights of a run that kept an EMA", "convzoo/cli/evaluate.py",
        "model = checkpoint.build_model().to(context.device)",
        "model = checkpoint.build_model(use_ema=False).to(context.device)",
        (f"{LOADING}::test_eval_measures_the_ema_weights_with_the_checkpoints_normalization",),
        origin="planned: written together with the test that catches it",
    ),
)  # fmt: skip
