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

Reading never unpickles arbitrary objects. The file must be a zip archive (the
format ``torch.save`` has written since 1.6; the legacy tar/pickle formats are
refused, since older torch releases did not restrict them even with
``weights_only=True``: CVE-2025-32434), and it is read with
``torch.load(weights_only=True)``, whose unpickler admits only tensors and
plain containers. A crafted pickle therefore fails before any of its code
runs. See docs/design-notes.md for why this and not safetensors + JSON.

Writing goes to a temporary file in the same directory that is renamed over the
old checkpoint only once complete: a crash or a full disk (ENOSPC) while saving
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import inspect
import pickle
import types
import typing
import zipfile
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import files
from .data.adapt import InputAdapter
from .data.datasets import FolderOptions
from .errors import CheckpointError
from .registry import get_entry, list_models

FORMAT = "convzoo-checkpoint"
VERSION = 2  # 1: flat dict (convzoo ≤ stop 7), still read; 2: model / weights / training parts


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
        """A registered model and ``create_model`` arguments of the right names and types, or :class:`CheckpointError`."""
        if not isinstance(self.name, str) or self.name not in list_models():
            raise CheckpointError(
                f"the checkpoint is for a model named {self.name!r}, which this convzoo does not have "
                "(`convzoo models` lists them); it was written by another convzoo version or edited"
            )
        for key, value in self.kwargs.items():
            expected = MODEL_ARGUMENT_TYPES.get(key)
            if expected is not None and not _fits(value, expected):
                raise CheckpointError(
                    f"the checkpoint's model argument {key}={value!r} should be {_describe(expected)}; "
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
            image_size=self.image_size, resize_size=self.resize_size, stream="no" if self.resize_size is None else "yes",
            mean=tuple(self.mean), std=tuple(self.std), interpolation=self.interpolation, channels=self.data_channels,
        )  # fmt: skip

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


def read_plain(path: str | Path, what: str = "checkpoint") -> Any:
    """``torch.load`` a file that may hold only tensors and plain containers; never runs code from it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} does not exist")
    _check_archive(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()
        detail = next((line for line in first if "GLOBAL" in line or "Unsupported" in line), first[0] if first else "")
        raise CheckpointError(
            f"{path} holds objects other than tensors and plain data, refused unread ({detail.strip()})"
        ) from None
    except (RuntimeError, EOFError, KeyError, ValueError, zipfile.BadZipFile, OSError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is truncated or corrupt ({message})") from None


ZIP_LOCAL_HEADER = b"PK\x03\x04"


def _check_archive(path: Path) -> None:
    """Refuse, unread, what ``torch.save`` never writes, before ``torch.load`` looks at it.

    - torch picks its reader by the *leading* bytes (``PK\\x03\\x04``: zip), while ``zipfile.is_zipfile`` looks
      at the *end* of the file: a polyglot (a legacy pickle with a zip appended) passes the latter and reaches
      the legacy unpickler, which torch < 2.6 did not restrict (CVE-2025-32434). So the leading bytes decide.
    - ``torch.save`` stores every entry uncompressed. A compressed entry can only come from a crafted file,
      and a deflate bomb would cost gigabytes of memory before any check: refused from the zip directory.
    """
    not_torch = "convzoo does not unpickle such files, since that could run code"
    with open(path, "rb") as file:
        leading = file.read(len(ZIP_LOCAL_HEADER))
    if leading != ZIP_LOCAL_HEADER:
        raise CheckpointError(
            f"{path} is not a torch.save zip file (a raw pickle, a legacy-format or truncated file); {not_torch}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is truncated or corrupt ({error})") from None
    compressed = [entry.filename for entry in entries if entry.compress_type != zipfile.ZIP_STORED]
    if compressed:
        raise CheckpointError(
            f"{path} has compressed entries ({compressed[0]}, ...), which torch.save never writes; refused unread"
        )


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


def _fits(value: Any, hint: Any) -> bool:
    """Whether plain data read from a checkpoint has the type ``hint`` (int, float, str, bool, None, unions,
    ``list[X]``, ``dict[K, V]``, ``Any``); a bool is not a number here, an int is a float."""
    if hint is Any:
        return True
    if hint is type(None) or hint is None:
        return value is None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, option) for option in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(_fits(k, key) and _fits(v, item) for k, v in value.items())
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) if isinstance(hint, type) else str(hint).replace("typing.", "")


def fields_from_plain(cls: type, values: Any, what: str, *, unknown: str = "refuse") -> Any:
    """``cls(**values)`` for a dataclass stored as plain data in a checkpoint, every field checked against its type.

    ``what`` names the part in the messages (e.g. ``"runs/x/last.pt's train_state"``); ``unknown="ignore"`` drops
    fields ``cls`` does not have (a newer writer's additions) instead of refusing them. Resuming uses it for
    ``TrainState``: ``fields_from_plain(TrainState, training["train_state"], f"{path}'s train_state")``.
    """
    if not isinstance(values, dict):
        raise CheckpointError(f"{what} is a {type(values).__name__}, not a mapping of fields; the file is corrupt")
    specs = {spec.name: spec for spec in fields(cls)}
    extra = sorted(str(name) for name in values if name not in specs)
    if extra and unknown == "refuse":
        raise CheckpointError(
            f"{what} has unknown fields ({', '.join(extra)}); it was written by another convzoo version or edited"
        )
    missing = [
        name for name, spec in specs.items() if name not in values and spec.default is MISSING
        and spec.default_factory is MISSING
    ]  # fmt: skip
    if missing:
        raise CheckpointError(f"{what} lacks the fields {', '.join(missing)}; the file is corrupt or edited")
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        if name in specs and not _fits(value, hints[name]):
            raise CheckpointError(
                f"{what} field {name} should be {_describe(hints[name])}, got {type(value).__name__} {value!r:.60}; "
                "the file is corrupt or edited"
            )
    return cls(**{name: value for name, value in values.items() if name in specs})


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
        "name": payload["model_name"], "kwargs": payload["model_kwargs"], "classes": list(payload["classes"]),
        "mean": list(payload["mean"]), "std": list(payload["std"]), "data_channels": payload["data_channels"],
        "image_size": payload["image_size"], "min_size": payload["min_size"], "dataset": payload.get("dataset"),
    }  # fmt: skip
    spec = fields_from_plain(ModelSpec, described, "its model description")
    training = {key: payload.get(key) for key in TRAINING_KEYS_V1} if "train_state" in payload else None
    return Checkpoint(spec, payload["model_state"], payload.get("ema_state"), training)


def is_checkpoint(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("format") == FORMAT


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
