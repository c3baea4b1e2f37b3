# SPDX-License-Identifier: MIT
"""Weights files that are not convzoo checkpoints: torchvision, timm or convzoo state dicts.

``--weights`` and ``create_model(pretrained=PATH)`` accept a bare state dict (or one under
``"state_dict"``) in ``.safetensors`` or ``torch.save`` format; the latter is read as safely as a
checkpoint (:func:`~convzoo.checkpoint.safe_read.read_plain`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from .format import is_checkpoint
from .safe_read import read_plain


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A torchvision/timm/convzoo state dict from ``.safetensors`` or a ``torch.save`` file, read safely."""
    path = Path(path)
    if path.suffix == ".safetensors":
        if not path.is_file():
            raise CheckpointError(f"weights file {path} does not exist")
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as error:
            raise CheckpointError(f"{path} is not a readable safetensors file ({error})") from None
    return state_dict_from_payload(read_plain(path, "weights file"), path)


def state_dict_from_payload(state: Any, path: Path) -> dict[str, torch.Tensor]:
    """The state dict in what :func:`read_plain` returned (a bare one, or under ``"state_dict"``)."""
    if is_checkpoint(state):
        raise CheckpointError(f"{path} is a convzoo checkpoint, not a state dict; pass it as --weights or --checkpoint")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is not a state dict (a mapping of names to tensors)")
    return state
