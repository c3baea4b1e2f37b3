# SPDX-License-Identifier: MIT
"""What a checkpoint holds, how it is written, and how each format version is read back.

The three parts (model description, weights, training state) are described in
:mod:`convzoo.checkpoint`. Writing goes to a temporary file in the same directory that is renamed over
the old checkpoint only once complete: a crash or a full disk (ENOSPC) while saving leaves the previous
checkpoint intact. Reading goes through :func:`~convzoo.checkpoint.safe_read.read_plain` and checks
every value's type (:mod:`~convzoo.checkpoint.plain_data`) before anything is built from it.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import files
from ..data.adapt import InputAdapter
from ..data.datasets import FolderOptions
from ..errors import CheckpointError
from ..registry import get_entry, list_models
from .plain_data import describe_type, fields_from_plain, fits
from .safe_read import read_plain

FORMAT = "convzoo-checkpoint"
VERSION = 2  # 1: one flat dict (the first format), still read; 2: model / weights / training parts


@dataclass(frozen=True)
class ModelSpec:
    """The model a checkpoint holds and the input it expects."""

    name: str  # registered model name
    kwargs: dict[str, Any]  # create_model arguments (num_classes, in_chans, small_input, ...)
    classes: list[str]  # class names, in label order
    mean: list[float]  # per data channel, for inputs scaled to [0, 1]
    std: list[float]
    data_channels: int  # channels of the images the model was trained on
    image_size: int  # side of those images in pixels
    min_size: int  # inputs smaller than this are upsampled to it
    dataset: str | None = None  # what it was trained on (a convzoo dataset name)
    # streamed image folders: the shorter side is resized to this, then center-cropped to image_size;
    # None: images are resized to image_size × image_size (the in-memory datasets)
    resize_size: int | None = None
    interpolation: str = "bilinear"

    @property
    def in_chans(self) -> int:
        return int(self.kwargs.get("in_chans", 3))

    @property
    def num_classes(self) -> int:
        return int(self.kwargs.get("num_classes", len(self.classes)))

    def build(self) -> nn.Module:
        self.check()
        try:
            return get_entry(self.name).build(**self.kwargs)
        except (TypeError, ValueError) as error:  # arguments from a file this convzoo cannot take (OptionError too)
            raise CheckpointError(
                f"the checkpoint's model {self.name} cannot be built from its arguments {self.kwargs} "
                f"({str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}); "
                "it was written by another convzoo version or edited"
            ) from None

    def check(self) -> None:
        """A registered model and ``create_model`` arguments of the right names and types, or
        :class:`CheckpointError`."""
        if not isinstance(self.name, str) or self.name not in list_models():
            raise CheckpointError(
                f"the checkpoint is for a model named {self.name!r}, which this convzoo does not have "
                "(`convzoo models` lists them); it was written by another convzoo version or edited"
            )
        for key, value in self.kwargs.items():
            expected = MODEL_ARGUMENT_TYPES.get(key)
            if expected is not None and not fits(value, expected):
                raise CheckpointError(
                    f"the checkpoint's model argument {key}={value!r} should be {describe_type(expected)}; "
                    "the checkpoint was edited or is corrupt"
                )
        try:
            inspect.signature(get_entry(self.name).builder).bind(**self.kwargs)
        except TypeError as error:
            raise CheckpointError(
                f"the checkpoint's model arguments do not fit {self.name} ({error}); "
                "it was written by another convzoo version or edited"
            ) from None

    def adapter(self, data_channels: int | None = None) -> InputAdapter:
        """The input preparation the model was trained with (channels, normalization, minimum size)."""
        channels = self.data_channels if data_channels is None else data_channels
        return InputAdapter(channels, self.in_chans, self.mean, self.std, self.min_size)

    def folder_options(self) -> FolderOptions:
        """How to read an image folder as this model's training data was evaluated (size, crop, statistics)."""
        return FolderOptions(
            image_size=self.image_size,
            resize_size=self.resize_size,
            stream="no" if self.resize_size is None else "yes",
            mean=tuple(self.mean),
            std=tuple(self.std),
            interpolation=self.interpolation,
            channels=self.data_channels,
        )

    def input_size(self) -> int:
        return max(self.image_size, self.min_size)


@dataclass
class Checkpoint:
    model: ModelSpec
    model_state: dict[str, torch.Tensor]
    ema_state: dict[str, torch.Tensor] | None = None
    training: dict[str, Any] | None = field(default=None, repr=False)  # see the module docstring

    def build_model(self, *, use_ema: bool = True) -> nn.Module:
        """The model with its weights (the EMA weights if the checkpoint has them and ``use_ema``)."""
        model = self.model.build()  # CheckpointError for a name or arguments this convzoo cannot build
        state = self.ema_state if use_ema and self.ema_state else self.model_state
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            raise CheckpointError(
                f"checkpoint weights do not fit {self.model.name}: {str(error).splitlines()[0]}"
            ) from None
        return model

    def check_compatible(self, model_name: str, num_classes: int) -> None:
        """Refuse to resume a run of another model or class count."""
        theirs = (self.model.name, self.model.kwargs.get("num_classes"))
        if theirs != (model_name, num_classes):
            raise CheckpointError(
                f"the run directory's checkpoint is for {theirs[0]} with {theirs[1]} classes, not {model_name} with "
                f"{num_classes}; choose another --out"
            )


def save(path: str | Path, checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` atomically; on a full disk the old file stays and :class:`ResourceError` says so."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": asdict(checkpoint.model),
        "model_state": checkpoint.model_state,
        "ema_state": checkpoint.ema_state,
        "training": checkpoint.training,
    }
    needed = sum(t.numel() * t.element_size() for t in _tensors(payload))
    files.atomic_write(
        path, lambda file: torch.save(payload, file), needed=needed, hint=", then continue with --resume"
    )
    return path


def _tensors(value: Any):
    """Every tensor in nested dicts, lists and tuples (to size a checkpoint before writing it)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)


def load(path: str | Path) -> Checkpoint:
    """Read a convzoo checkpoint (format 1 or 2); anything else is one clear :class:`CheckpointError`."""
    payload = read_plain(path)
    return from_payload(payload, Path(path))


def from_payload(payload: Any, path: Path) -> Checkpoint:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a plain state dict, not a convzoo checkpoint; pass it as --weights (or to convert_state_dict)"
            if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values())
            else f"{path} is not a convzoo checkpoint"
        )
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{path} is checkpoint format {version}, newer than this convzoo reads ({VERSION}); upgrade convzoo"
        )
    try:
        checkpoint = _from_v1(payload) if version == 1 else _from_v2(payload)
        checkpoint.model.check()
        _check_parts(checkpoint)
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"{path} is a convzoo checkpoint with a missing or malformed part ({error})") from None
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    return checkpoint


def _check_parts(checkpoint: Checkpoint) -> None:
    """Weights that are mappings of names to tensors, a training part that is a mapping."""
    if checkpoint.training is not None and not isinstance(checkpoint.training, dict):
        raise CheckpointError(f"its training part is a {type(checkpoint.training).__name__}, not a mapping")
    for part in ("model_state", "ema_state"):
        state = getattr(checkpoint, part)
        if state is None and part == "ema_state":
            continue
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise CheckpointError(f"the checkpoint's {part} is not a mapping of names to tensors; it is corrupt")


# ModelEntry.build's own arguments; family-specific ones are checked against the builder's signature
MODEL_ARGUMENT_TYPES: dict[str, Any] = {
    "num_classes": int,
    "in_chans": int,
    "drop_rate": float | None,
    "drop_path_rate": float | None,
    "small_input": bool,
}


def _from_v2(payload: dict[str, Any]) -> Checkpoint:
    spec = fields_from_plain(ModelSpec, payload["model"], "its model description", unknown="ignore")
    return Checkpoint(spec, payload["model_state"], payload.get("ema_state"), payload.get("training"))


TRAINING_KEYS_V1 = (
    "optimizer_state",
    "schedule_state",
    "scaler_state",
    "train_state",
    "rng_state",
    "cuda_rng_state",
    "config",
)


def _from_v1(payload: dict[str, Any]) -> Checkpoint:
    """Format 1 (a flat dict) as format 2: same facts, grouped."""
    described = {
        "name": payload["model_name"],
        "kwargs": payload["model_kwargs"],
        "classes": list(payload["classes"]),
        "mean": list(payload["mean"]),
        "std": list(payload["std"]),
        "data_channels": payload["data_channels"],
        "image_size": payload["image_size"],
        "min_size": payload["min_size"],
        "dataset": payload.get("dataset"),
    }
    spec = fields_from_plain(ModelSpec, described, "its model description")
    training = {key: payload.get(key) for key in TRAINING_KEYS_V1} if "train_state" in payload else None
    return Checkpoint(spec, payload["model_state"], payload.get("ema_state"), training)


def is_checkpoint(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("format") == FORMAT
