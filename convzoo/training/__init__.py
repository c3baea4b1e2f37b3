"""Training and evaluation: a config dataclass, a visible loop, atomic checkpoints, torchrun support."""

from .checkpoint import CheckpointError, adapter_from_checkpoint, load_checkpoint, model_from_checkpoint, save_checkpoint
from .config import TrainConfig
from .engine import TrainResult, TrainState, train
from .evaluate import EvalResult, evaluate

__all__ = [
    "CheckpointError",
    "EvalResult",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "adapter_from_checkpoint",
    "evaluate",
    "load_checkpoint",
    "model_from_checkpoint",
    "save_checkpoint",
    "train",
]
