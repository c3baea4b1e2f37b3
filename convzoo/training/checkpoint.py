"""Checkpoints: written atomically, self-describing, checked when read.

A checkpoint carries the model's name and construction arguments, the class
names and the input normalization, so evaluation and prediction need nothing
else; and the optimizer, schedule, EMA and random-number states, so a run
resumes exactly where it stopped. It is written to a temporary file in the
same directory and renamed over the old one: a crash while saving leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data import InputAdapter
from ..registry import create_model

FORMAT = "convzoo-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or for another model or class count."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001  (pickle, zip and EOF errors all mean "unreadable")
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a convzoo checkpoint (for a torchvision/timm state dict use --weights)")
    return payload


def model_from_checkpoint(payload: dict[str, Any], *, use_ema: bool = True) -> nn.Module:
    """Rebuild the model a checkpoint describes and load its weights (the EMA weights if it has them)."""
    model = create_model(payload["model_name"], **payload["model_kwargs"])
    state = payload.get("ema_state") if use_ema and payload.get("ema_state") else payload["model_state"]
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint weights do not fit {payload['model_name']}: {str(error).splitlines()[0]}") from None
    return model


def adapter_from_checkpoint(payload: dict[str, Any], data_channels: int | None = None) -> InputAdapter:
    """The input preparation the checkpoint was trained with (channels, normalization, minimum size)."""
    channels = payload["data_channels"] if data_channels is None else data_channels
    return InputAdapter(channels, payload["model_kwargs"]["in_chans"], payload["mean"], payload["std"], payload["min_size"])


def check_compatible(payload: dict[str, Any], model_name: str, num_classes: int) -> None:
    """Refuse to resume a run of another model or class count."""
    theirs = (payload["model_name"], payload["model_kwargs"].get("num_classes"))
    if theirs != (model_name, num_classes):
        raise CheckpointError(
            f"the run directory's checkpoint is for {theirs[0]} with {theirs[1]} classes, not {model_name} with "
            f"{num_classes}; choose another --out"
        )
