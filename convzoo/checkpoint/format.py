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
import math
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
from .plain_data import describe_type, fields_from_plain, fits, name_of, short
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
                f"the checkpoint's model {self.name} cannot be built from its arguments {short(self.kwargs)} "
                f"({short(str(error).strip().splitlines()[0], 120) if str(error).strip() else type(error).__name__}); "
                "it was written by another convzoo version or edited"
            ) from None

    def check(self) -> None:
        """A registered model, ``create_model`` arguments of the right names and types, and values in range that
        agree with each other (:meth:`check_values`), or :class:`CheckpointError`."""
        if not isinstance(self.name, str) or len(self.name) > MAX_NAME or self.name not in list_models():
            raise CheckpointError(
                f"the checkpoint is for a model named {short(self.name)}, which this convzoo does not have "
                "(`convzoo models` lists them); it was written by another convzoo version or edited"
            )
        for key, value in self.kwargs.items():
            expected = MODEL_ARGUMENT_TYPES.get(key, int | float | str | bool | None)
            if not fits(value, expected):
                raise CheckpointError(
                    f"the checkpoint's model argument {name_of(key)}={short(value)} should be "
                    f"{describe_type(expected)}; the checkpoint was edited or is corrupt"
                )
        try:
            inspect.signature(get_entry(self.name).builder).bind(**self.kwargs)
        except TypeError as error:
            raise CheckpointError(
                f"the checkpoint's model arguments do not fit {self.name} ({short(str(error), 120)}); "
                "it was written by another convzoo version or edited"
            ) from None
        self.check_values()

    def check_values(self) -> None:
        """Every size, count and statistic in its range, and the lengths that must agree agreeing: a crafted
        ``num_classes=10**12`` or ``image_size=-5`` is one line here, not an allocation or a traceback later."""
        problems = self._out_of_range() + self._disagreements()
        if problems:
            raise CheckpointError(
                f"its model description is out of range: {'; '.join(problems[:3])}; the checkpoint was edited or "
                "is corrupt"
            )

    def _out_of_range(self) -> list[str]:
        problems = []
        for name, (low, high) in SIZE_RANGES.items():
            value = self.kwargs.get(name) if name in MODEL_ARGUMENT_TYPES else getattr(self, name)
            if value is not None and not low <= value <= high:
                problems.append(f"{name} {short(value)} is outside [{low}, {high:,}]")
        for name in ("drop_rate", "drop_path_rate"):
            value = self.kwargs.get(name)
            if value is not None and not 0 <= value < 1:
                problems.append(f"{name} {short(value)} is outside [0, 1)")
        for name in ("mean", "std"):
            if not all(math.isfinite(v) for v in getattr(self, name)):
                problems.append(f"{name} {short(getattr(self, name))} is not finite")
        if not all(v > 0 for v in self.std):
            problems.append(f"std {short(self.std)} has a value that is not above 0")
        if self.interpolation not in INTERPOLATIONS:
            problems.append(f"interpolation {short(self.interpolation)} is not one of {', '.join(INTERPOLATIONS)}")
        names = [*self.classes, self.dataset or ""]
        if any(len(name) > MAX_NAME for name in names):
            problems.append(f"a class or dataset name is longer than {MAX_NAME} characters")
        return problems

    def _disagreements(self) -> list[str]:
        problems = []
        if self.resize_size is not None and self.resize_size < self.image_size:
            problems.append(f"resize_size {self.resize_size} is smaller than image_size {self.image_size}")
        if len(self.classes) != self.num_classes:
            problems.append(f"it names {len(self.classes):,} classes for a model of {short(self.num_classes)}")
        for name in ("mean", "std"):
            if len(getattr(self, name)) != self.data_channels:
                count = len(getattr(self, name))
                problems.append(f"{name} has {count} values for {short(self.data_channels)} data channels")
        if self.data_channels not in (1, 3) and self.data_channels != self.in_chans:
            problems.append(f"{self.data_channels}-channel data cannot feed a {self.in_chans}-channel model")
        return problems

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
                f"checkpoint weights do not fit {self.model.name}: {state_dict_mismatch(error)}"
            ) from None
        return model

    def check_compatible(self, model_name: str, num_classes: int) -> None:
        """Refuse to resume a run of another model or class count."""
        theirs = (self.model.name, self.model.kwargs.get("num_classes"))
        if theirs != (model_name, num_classes):
            raise CheckpointError(
                f"the run directory's checkpoint is for {theirs[0]} with {short(theirs[1])} classes, not {model_name} "
                f"with {num_classes}; choose another --out"
            )


def state_dict_mismatch(error: Exception) -> str:
    """What ``load_state_dict``'s error says is wrong, in one line: its first detail and how many more there are
    (its first line alone, "Error(s) in loading state_dict for CifarResNet:", names no tensor)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    details = lines[1:] if lines and lines[0].startswith("Error(s) in loading") else lines
    if not details:
        return type(error).__name__
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    first = details[0] if len(details[0]) <= 240 else details[0][:237] + "..."
    return first + more


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
        raise CheckpointError(
            f"{path} is a convzoo checkpoint with a missing or malformed part ({short(str(error), 120)})"
        ) from None
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


# ModelEntry.build's own arguments; family-specific ones are checked against the builder's signature and must be
# plain scalars
MODEL_ARGUMENT_TYPES: dict[str, Any] = {
    "num_classes": int,
    "in_chans": int,
    "drop_rate": float | None,
    "drop_path_rate": float | None,
    "small_input": bool,
}


# the inclusive range of each count and size a model description holds (a model argument or a ModelSpec field):
# 100,000 classes is above ImageNet-21k's 21,843; 8,192 px above any input these models are trained at
SIZE_RANGES: dict[str, tuple[int, int]] = {
    "num_classes": (1, 100_000),
    "in_chans": (1, 64),
    "data_channels": (1, 64),
    "image_size": (1, 8192),
    "min_size": (1, 8192),
    "resize_size": (1, 16384),
}
MAX_NAME = 256  # characters of a model, class or dataset name
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")  # what torchvision's resize takes and convzoo writes


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
