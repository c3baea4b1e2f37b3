# SPDX-License-Identifier: MIT
"""Training: a config dataclass, a visible loop, atomic checkpoints, preemption-safe, torchrun support.

The checkpoint format lives in :mod:`convzoo.checkpoint` and evaluation in :mod:`convzoo.evaluation`, so that
eval, predict, export and deploy read checkpoints without importing this package; both are re-exported here.
"""

from ..checkpoint import Checkpoint, ModelSpec
from ..checkpoint import load as load_checkpoint
from ..checkpoint import save as save_checkpoint
from ..errors import CheckpointError
from ..evaluation import EvalResult, evaluate
from .config import TrainConfig
from .engine import TrainResult, TrainState, train

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "EvalResult",
    "ModelSpec",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "evaluate",
    "load_checkpoint",
    "save_checkpoint",
    "train",
]
