# SPDX-License-Identifier: MIT
"""Everything a run needs before its first step: the model for the data, starting weights, the run directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import checkpoint as ckpt
from .. import files
from ..data import Augment, FolderOptions, ImageDataset, StreamingDataset
from ..errors import CheckpointError, OptionError
from ..factory import create_model
from ..registry import get_entry, wants_small_input
from ..runtime import Context, decoding_workers
from ..weights.catalog import Weights, weights_for
from ..weights.pretrained import fit_state_dict, load_released
from .config import TrainConfig

CHECKPOINT = "last.pt"


@dataclass
class StartingWeights:
    """What ``--weights`` holds, read once: the tensors, and the model and layout they were trained as."""

    state: dict[str, torch.Tensor]
    model_name: str | None  # None for a torchvision/timm/plain state dict
    small_input: bool  # released ImageNet weights have the 7x7/2 stem, so "auto" keeps the default layout


def read_starting_weights(path: str | Path) -> StartingWeights:
    """A convzoo checkpoint (its EMA weights if kept) or any state dict file, read safely and only once."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return StartingWeights(ckpt.load_state_dict_file(path), None, False)
    payload = ckpt.read_plain(path, "weights file")
    if ckpt.is_checkpoint(payload):
        checkpoint = ckpt.from_payload(payload, path)
        state = checkpoint.ema_state or checkpoint.model_state
        return StartingWeights(state, checkpoint.model.name, bool(checkpoint.model.kwargs.get("small_input")))
    return StartingWeights(ckpt.state_dict_from_payload(payload, path), None, False)


def released_weights(config: TrainConfig) -> Weights | None:
    """The table entry of ``--pretrained`` weights (nothing is downloaded here)."""
    return weights_for(config.model, config.source or True) if config.pretrained else None


def folder_options(config: TrainConfig) -> FolderOptions:
    """How to read an image folder: with ``--pretrained``, at the weights' size and with their statistics."""
    weights = released_weights(config)
    if weights is None:
        return FolderOptions(image_size=config.image_size, stream=config.stream)
    transform = weights.transform
    size = config.image_size or transform.crop
    return FolderOptions(
        image_size=size,
        resize_size=round(size * transform.resize / transform.crop),
        stream=config.stream,
        mean=transform.mean,
        std=transform.std,
        interpolation=transform.interpolation,
    )


def model_kwargs_for(
    config: TrainConfig, data: ImageDataset | StreamingDataset, start: StartingWeights | None = None
) -> dict[str, Any]:
    """``create_model`` arguments: classes and channels from the data, small-input variant for small images."""
    released_layout = config.pretrained or (start is not None and not start.small_input)  # the 7x7/2 ImageNet stem
    small = config.small_input == "yes" or (
        config.small_input == "auto" and wants_small_input(config.model, data.image_size) and not released_layout
    )
    kwargs: dict[str, Any] = {"num_classes": data.num_classes, "in_chans": data.channels}
    if small:
        kwargs["small_input"] = True
    if config.drop_rate is not None:
        kwargs["drop_rate"] = config.drop_rate
    if config.drop_path_rate is not None:
        kwargs["drop_path_rate"] = config.drop_path_rate
    return kwargs


def minimum_size(model_name: str, model_kwargs: dict[str, Any]) -> int:
    entry = get_entry(model_name)
    return (entry.small_min_input_size or 1) if model_kwargs.get("small_input") else entry.min_input_size


def load_initial_weights(
    model: nn.Module, config: TrainConfig, model_kwargs: dict[str, Any], start: StartingWeights
) -> None:
    """``--weights``: a convzoo checkpoint, our own state dict, or a torchvision/timm one; head stays fresh."""
    path = Path(config.weights)
    state, source_name = start.state, start.model_name or config.model
    if source_name != config.model:
        raise CheckpointError(f"{path} holds {source_name} weights, not {config.model}")
    fit_state_dict(model, state, config.model, model_kwargs, path)
    freeze_all_but_classifier(model, config)


def prepare_run_dir(config: TrainConfig, is_main: bool) -> Path:
    """The run directory; refuses to overwrite an earlier run unless resuming it."""
    run_dir = Path(config.out)
    checkpoint = run_dir / CHECKPOINT
    if config.resume and not checkpoint.exists():
        raise CheckpointError(f"nothing to resume: {checkpoint} does not exist")
    if not config.resume and checkpoint.exists():
        raise CheckpointError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    if is_main:
        files.make_dir(run_dir)
        files.remove_stale_temporaries(run_dir)  # left by a writer killed mid-write; this process holds the lock
    return run_dir


def build_model(config: TrainConfig, data: ImageDataset | StreamingDataset) -> tuple[nn.Module, dict[str, Any]]:
    """The model and the ``create_model`` arguments that rebuild it (released weights' settings included)."""
    start = read_starting_weights(config.weights) if config.weights else None
    kwargs = model_kwargs_for(config, data, start)
    weights = released_weights(config)
    if weights is not None:
        model = load_released(config.model, weights, **kwargs)
        kwargs = {**kwargs, **weights.settings}
        freeze_all_but_classifier(model, config)
        return model, kwargs
    model = create_model(config.model, **kwargs)
    if start is not None:
        load_initial_weights(model, config, kwargs, start)
    return model, kwargs


def classifier_parameter_ids(model: nn.Module) -> set[int]:
    """``id()`` of the final classifier's parameters (the fresh layer when fine-tuning)."""
    return {id(p) for p in model.get_classifier().parameters()} if hasattr(model, "get_classifier") else set()


def set_backbone_trainable(model: nn.Module, trainable: bool) -> None:
    """Everything but the classifier learns, or does not (``requires_grad``); the classifier always learns."""
    classifier = classifier_parameter_ids(model)
    for param in model.parameters():
        param.requires_grad_(trainable or id(param) in classifier)


def freeze_all_but_classifier(model: nn.Module, config: TrainConfig) -> None:
    if config.freeze_backbone:
        set_backbone_trainable(model, False)


def check_progressive_resize(config: TrainConfig, smallest: int) -> None:
    """``--progressive-resize`` may not shrink images below the model's smallest input side."""
    if config.progressive_resize and config.progressive_resize < smallest:
        raise OptionError(
            f"--progressive-resize {config.progressive_resize} is below {config.model}'s smallest input side, "
            f"{smallest} px; start at {smallest} or more"
        )


def build_loaders(config: TrainConfig, data: ImageDataset | StreamingDataset, context: Context, workers: int):
    """This process's training and test loaders: its shard of the data, its share of the batch."""
    per_rank = max(1, config.batch_size // context.world_size)
    augment = Augment(config.crop_padding, config.flip, config.random_erasing)
    shard = {"rank": context.rank, "world_size": context.world_size, "workers": workers}
    train_loader = data.train_loader(
        per_rank, augment, seed=config.seed, drop_last=data.train_count // context.world_size >= per_rank, **shard
    )
    streamed = isinstance(data, StreamingDataset)  # decoded at full size: batches of training size
    test_loader = data.test_loader(per_rank if streamed else max(per_rank, 256), **shard)
    return train_loader, test_loader


def loader_workers(config: TrainConfig, context: Context) -> int:
    """Decoding processes per training process: the CPU cores, at most 8, shared by the ranks on a node."""
    if config.workers is not None:
        return config.workers
    return decoding_workers(context.local_world_size)
