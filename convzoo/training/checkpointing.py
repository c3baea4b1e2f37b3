# SPDX-License-Identifier: MIT
"""What a run writes to and reads from its checkpoint: the model's description, the training state, resume.

A mixin of :class:`~convzoo.training.engine.Trainer`, apart so that the loop reads on its own. What it
reads and restores is stated by :class:`CheckpointedRun`: a checkpoint holds exactly those parts, so a
new part of a run's state that must survive a resume is added there and in :meth:`Checkpointing.checkpoint`.
The format itself (``ModelSpec``, ``Checkpoint``, atomic save, safe load) is :mod:`convzoo.checkpoint`.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from .. import checkpoint as ckpt
from ..errors import DivergedError
from ..runtime import Context
from .config import TrainConfig
from .setup import CHECKPOINT, minimum_size
from .state import TrainState

SCHEDULE_KEYS = ("epochs", "steps_per_epoch", "batch_size", "schedule")  # what the saved schedule depends on


def non_finite_tensors(state: dict[str, torch.Tensor], prefix: str = "") -> list[str]:
    """Names of the floating-point tensors in ``state`` holding a NaN or an infinity."""
    return [
        prefix + name
        for name, tensor in state.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


class CheckpointedRun(Protocol):
    """The parts of a run that its checkpoint describes, saves and restores (the trainer has them all)."""

    config: TrainConfig
    context: Context  # only the main process writes
    data: Any  # the loaded dataset: its classes, normalization, channels and sizes describe the model's input
    run_dir: Path
    model: nn.Module
    model_kwargs: dict[str, Any]
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None  # fp16 only
    ema: torch.optim.swa_utils.AveragedModel | None
    state: TrainState


class Checkpointing(CheckpointedRun):
    """Checkpoint methods of a run; the class that mixes them in provides the parts :class:`CheckpointedRun` names."""

    def model_spec(self) -> ckpt.ModelSpec:
        data = self.data
        return ckpt.ModelSpec(
            name=self.config.model,
            kwargs=self.model_kwargs,
            classes=list(data.classes),
            mean=list(data.mean),
            std=list(data.std),
            data_channels=data.channels,
            image_size=data.image_size,
            min_size=minimum_size(self.config.model, self.model_kwargs),
            dataset=self.config.data,
            resize_size=data.resize_size,
            interpolation=getattr(data, "interpolation", "bilinear"),
        )

    def checkpoint(self) -> ckpt.Checkpoint:
        training = {
            "optimizer_state": self.optimizer.state_dict(),
            "schedule_state": self.schedule.state_dict(),
            "scaler_state": self.scaler.state_dict() if self.scaler is not None else None,
            "train_state": asdict(self.state),
            "rng_state": torch.get_rng_state(),
            "cuda_rng_state": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "config": asdict(self.config),
            # AveragedModel copies (not averages) while its count is 0: a resumed EMA must keep its count
            "ema_updates": int(self.ema.n_averaged) if self.ema is not None else None,
        }
        ema_state = self.ema.module.state_dict() if self.ema is not None else None
        return ckpt.Checkpoint(self.model_spec(), self.model.state_dict(), ema_state, training)

    def save(self, name: str = CHECKPOINT) -> None:
        """Write the checkpoint, unless a weight or buffer is NaN or infinite: that is never a state to resume."""
        if not self.context.is_main:
            return
        checkpoint = self.checkpoint()
        bad = non_finite_tensors(checkpoint.model_state) + non_finite_tensors(checkpoint.ema_state or {}, "ema.")
        if bad:
            raise DivergedError(
                f"{len(bad)} weights or buffers became NaN or infinite ({', '.join(bad[:3])}) by epoch "
                f"{self.state.epoch + (self.state.step_in_epoch > 0)}, step {self.state.step_in_epoch}; "
                f"not saved as {name}, {self.kept_checkpoint()}. Lower --lr or set --grad-clip"
            )
        ckpt.save(self.run_dir / name, checkpoint)

    def kept_checkpoint(self) -> str:
        path = self.run_dir / CHECKPOINT
        return f"the last good checkpoint is {path}" if path.exists() else "no checkpoint had been written yet"

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        """Continue from ``checkpoint``: weights, EMA, optimizer, schedule, scaler, position and random state."""
        checkpoint.check_compatible(self.config.model, self.data.num_classes)
        training = checkpoint.training
        if not training:
            raise ckpt.CheckpointError(f"{self.run_dir / CHECKPOINT} holds weights only, no training state to resume")
        state = ckpt.fields_from_plain(
            TrainState, training.get("train_state"), f"{self.run_dir / CHECKPOINT}'s train_state"
        )
        saved = training.get("config") or {}
        if not isinstance(saved, dict):
            raise ckpt.CheckpointError(f"{self.run_dir / CHECKPOINT}'s config is not a mapping; it is corrupt")
        changed = [key for key in SCHEDULE_KEYS if key in saved and saved[key] != getattr(self.config, key)]
        if changed:
            was = ", ".join(f"--{key.replace('_', '-')} {ckpt.short(saved[key])}" for key in changed)
            raise ckpt.CheckpointError(
                f"the run in {self.run_dir} was started with {was}; resume with the same values "
                "(the learning-rate schedule was laid out for them), or start a new run with --weights"
            )
        check_position(state, f"{self.run_dir / CHECKPOINT}'s train_state")
        with _restoring(self.run_dir / CHECKPOINT, "weights"):
            self.model.load_state_dict(checkpoint.model_state)
        if self.ema is not None and checkpoint.ema_state:
            with _restoring(self.run_dir / CHECKPOINT, "EMA weights"):
                self.ema.module.load_state_dict(checkpoint.ema_state)
                updates = training.get("ema_updates")  # older checkpoints: one update per step
                self.ema.n_averaged.fill_(state.global_step if updates is None else updates)
        with _restoring(self.run_dir / CHECKPOINT, "optimizer state"):
            self.optimizer.load_state_dict(training["optimizer_state"])
            _check_optimizer_state(self.optimizer)
        with _restoring(self.run_dir / CHECKPOINT, "schedule state"):
            self.schedule.load_state_dict(training["schedule_state"])
        if self.scaler is not None and training.get("scaler_state"):
            with _restoring(self.run_dir / CHECKPOINT, "gradient scaler state"):
                self.scaler.load_state_dict(training["scaler_state"])
        with _restoring(self.run_dir / CHECKPOINT, "random state"):
            torch.set_rng_state(training["rng_state"])
            if training.get("cuda_rng_state") and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(training["cuda_rng_state"])
        self.state = state


@contextlib.contextmanager
def _restoring(path: Path, part: str):
    """Restoring one part of a resumed run: a part that does not fit this run (a crafted or corrupt value of the
    right type, an optimizer state for other parameters, an RNG state that is no byte tensor) is one line."""
    try:
        yield
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        detail = ckpt.state_dict_mismatch(error) if isinstance(error, RuntimeError) else ckpt.short(str(error), 160)
        raise ckpt.CheckpointError(
            f"{path}'s {part} does not fit this run ({type(error).__name__}: {detail}); the checkpoint is corrupt "
            "or edited: start a new run, or --weights it to keep the weights"
        ) from None


def _check_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """Every per-parameter buffer the optimizer restored has its parameter's shape (``load_state_dict`` copies
    tensors of any shape, and the first step would fail on them)."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            for name, value in optimizer.state.get(parameter, {}).items():
                if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != parameter.shape:
                    raise ValueError(
                        f"its {name} has shape {tuple(value.shape)} for a parameter of {tuple(parameter.shape)}"
                    )


def check_position(state: TrainState, what: str) -> None:
    """A training position of counts that can be: none negative, three epoch sums."""
    counts = {"epoch": state.epoch, "step_in_epoch": state.step_in_epoch, "global_step": state.global_step,
              "skipped_batches": state.skipped_batches}  # fmt: skip
    negative = [name for name, value in counts.items() if value < 0 or value >= 2**63]
    if negative or len(state.sums) != 3 or not all(math.isfinite(v) for v in state.sums):
        raise ckpt.CheckpointError(
            f"{what} is not a position a run can be at ({', '.join(negative) or 'its epoch sums'} out of range); "
            "the checkpoint is corrupt or edited"
        )
