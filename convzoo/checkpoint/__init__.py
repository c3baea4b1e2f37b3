# SPDX-License-Identifier: MIT
"""The checkpoint format: what a checkpoint holds, written atomically, read without running code.

A checkpoint is one ``torch.save`` zip file holding only plain data: strings,
numbers, lists, dicts and tensors. It has three parts:

- ``model``: a :class:`ModelSpec`, everything needed to rebuild the model and
  prepare its input (name, ``create_model`` arguments, class names,
  normalization, channels, image and minimum size, dataset);
- ``model_state`` and, if the run kept one, ``ema_state``: the weights;
- ``training`` (optional): optimizer, schedule, scaler, position and random
  states, so a run resumes exactly. Evaluation, prediction and export never
  look at it.

One idea per module: :mod:`.format` (the parts, save and load, format
versions), :mod:`.safe_read` (refusing what could run code before it is
unpickled), :mod:`.plain_data` (typed dataclasses from plain data) and
:mod:`.state_dicts` (bare torchvision/timm/convzoo weights files). Training
writes checkpoints; evaluation, prediction, export and deployment read them
through this package without importing ``training/``.
"""

from ..errors import CheckpointError
from .format import (
    FORMAT,
    VERSION,
    Checkpoint,
    ModelSpec,
    from_payload,
    is_checkpoint,
    load,
    save,
    state_dict_mismatch,
)
from .plain_data import fields_from_plain, short
from .safe_read import read_plain
from .state_dicts import load_state_dict_file, state_dict_from_payload

__all__ = [
    "FORMAT",
    "VERSION",
    "Checkpoint",
    "CheckpointError",
    "ModelSpec",
    "fields_from_plain",
    "from_payload",
    "is_checkpoint",
    "load",
    "load_state_dict_file",
    "read_plain",
    "save",
    "short",
    "state_dict_from_payload",
    "state_dict_mismatch",
]
