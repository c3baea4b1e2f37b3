# SPDX-License-Identifier: MIT
"""The training configuration: one dataclass, units in the help texts, defaults that work per dataset."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..errors import OptionError
from ..options import check_options
from ..registry import DEFAULT_MODEL


def option(default: Any, help: str, choices: tuple | None = None) -> Any:
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass
class TrainConfig:
    model: str = option(DEFAULT_MODEL, "registered model name (`convzoo models`)")
    data: str = option("fashion-mnist-mini", "fashion-mnist-mini, fashion-mnist, cifar10, cifar100 or folder:PATH")
    data_dir: str | None = option(None, "where the dataset lies (default: $CONVZOO_DATA, system packages, cache)")
    download: bool = option(False, "download the dataset if it is not found (checksums verified)")
    out: str | None = option(None, "run directory (default: runs/MODEL-DATA)")
    resume: bool = option(False, "continue from the last checkpoint in the run directory")
    epochs: int | None = option(None, "passes over the training split (default per dataset)")
    batch_size: int | None = option(
        None, "images per optimizer step, over all processes (default 128; 32 for streamed image folders)"
    )
    steps_per_epoch: int | None = option(
        None, "at most this many steps per epoch, for quick runs and budgets (default: the whole split)"
    )
    optimizer: str | None = option(
        None, "sgd (momentum, Nesterov) or adamw (default: sgd from scratch, adamw when fine-tuning)", ("sgd", "adamw")
    )
    lr: float | None = option(
        None,
        "peak learning rate of the backbone, per 128 images (default from scratch: 0.1 SGD / 2e-3 AdamW; "
        "fine-tuning: 0.01 SGD / 5e-4 AdamW; see docs/finetuning.md)",
    )
    head_lr_scale: float | None = option(
        None, "learning rate of the classifier over the backbone's (default: 10 when fine-tuning, else 1)"
    )
    momentum: float = option(0.9, "SGD momentum")
    nesterov: bool = option(True, "Nesterov momentum for SGD")
    weight_decay: float | None = option(
        None, "decoupled weight decay, not on norms and biases (default 5e-4 SGD / 0.05 AdamW)"
    )
    schedule: str | None = option(
        None,
        "learning-rate schedule (default: onecycle from scratch, cosine after warm-up when fine-tuning)",
        ("cosine", "onecycle"),
    )
    warmup_epochs: float = option(1.0, "linear warm-up length in epochs (cosine schedule)")
    label_smoothing: float = option(0.1, "label smoothing of the cross-entropy loss")
    crop_padding: int | None = option(None, "random-crop padding in pixels (default 2 for 28 px, 4 for 32 px+; 0 off)")
    flip: bool = option(True, "random horizontal flips")
    random_erasing: float = option(0.0, "probability of erasing a random rectangle per image")
    mixup: float = option(0.0, "mixup alpha (0: off)")
    cutmix: float = option(0.0, "cutmix alpha (0: off)")
    grad_clip: float | None = option(None, "clip the gradient norm to this value")
    on_nan: str = option(
        "stop",
        "a NaN/inf loss stops the run (keeping the last good checkpoint) or skips the batch (at most 10)",
        ("stop", "skip"),
    )
    amp: str = option(
        "auto",
        "mixed precision: auto (bf16 where supported), none, bf16, fp16 (CUDA)",
        ("auto", "none", "bf16", "fp16"),
    )
    channels_last: bool = option(False, "channels-last memory format for model and inputs")
    progressive_resize: int | None = option(
        None, "train the first epochs on images shrunk to this side, growing to full size (0 or unset: off)"
    )
    progressive_until: float = option(
        0.5, "with --progressive-resize: the fraction of the epochs after which images are at full size"
    )
    ema: float | None = option(None, "keep an exponential moving average of the weights with this decay (e.g. 0.999)")
    precise_bn: int = option(
        0, "before each evaluation, recompute batch-norm statistics over this many training batches (0: off)"
    )
    seed: int = option(0, "random seed (data order, augmentation, initialization)")
    small_input: str = option(
        "auto", "small-input variant: auto (for images under 64 px), yes, no", ("auto", "yes", "no")
    )
    drop_rate: float | None = option(None, "classifier dropout (default: the model's)")
    drop_path_rate: float | None = option(None, "stochastic depth rate (default: the model's)")
    pretrained: bool = option(False, "start from the model's released ImageNet weights and fine-tune them")
    source: str | None = option(
        None, "with --pretrained: torchvision or timm weights (default: the model's first)", ("torchvision", "timm")
    )
    weights: str | None = option(None, "start from a convzoo checkpoint or a torchvision/timm state dict file")
    freeze_backbone: bool = option(False, "with --weights/--pretrained: train only the classifier")
    freeze_epochs: int = option(
        0, "fine-tuning: train only the classifier for this many first epochs (linear probing), then everything"
    )
    image_size: int | None = option(
        None, "image folders: side of the training crops (default: the pretrained weights' size, else 64)"
    )
    stream: str = option(
        "auto",
        "image folders: decode from disk each epoch (auto: above 64 px or 2 GiB), or hold in memory",
        ("auto", "yes", "no"),
    )
    workers: int | None = option(
        None, "streamed folders: decoding processes per training process (default: CPU cores, at most 8)"
    )
    device: str = option("auto", "auto, cpu or cuda", ("auto", "cpu", "cuda"))
    tensorboard: bool = option(False, "also log to TensorBoard (if installed)")
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        """The checks every entry point gets (CLI, ``compare``, the Python API): one clear line each. Numbers are
        checked against the one table of option rules (:data:`convzoo.options.RULES`)."""
        check_options({spec.name: getattr(self, spec.name) for spec in fields(self)})
        for spec in fields(self):
            choices = spec.metadata.get("choices")
            value = getattr(self, spec.name)
            if choices and value not in choices and not (value is None and spec.default is None):
                raise OptionError(
                    f"--{spec.name.replace('_', '-')} must be one of {', '.join(choices)}, "
                    f"got {getattr(self, spec.name)!r}"
                )
        if self.pretrained and self.weights:
            raise OptionError("--pretrained and --weights both say where the weights come from; pass one")
        if self.source and not self.pretrained:
            raise OptionError("--source applies with --pretrained only")

    @property
    def fine_tuning(self) -> bool:
        return self.pretrained or self.weights is not None

    def resolved(self, image_size: int, dataset: str, *, streamed: bool = False) -> TrainConfig:
        """A copy with every ``None`` default filled in for the dataset, and for fine-tuning (docs/finetuning.md)."""
        optimizer = self.optimizer or ("adamw" if self.fine_tuning else "sgd")
        lr_per_128, decay = (FINE_TUNING if self.fine_tuning else FROM_SCRATCH)[optimizer]
        batch_size = self.batch_size or (32 if streamed else 128)
        return replace(
            self,
            optimizer=optimizer,
            batch_size=batch_size,
            schedule=self.schedule or ("cosine" if self.fine_tuning else "onecycle"),
            head_lr_scale=self.head_lr_scale if self.head_lr_scale is not None else (10.0 if self.fine_tuning else 1.0),
            epochs=self.epochs if self.epochs is not None else DEFAULT_EPOCHS.get(dataset, 10 if streamed else 20),
            lr=self.lr if self.lr is not None else lr_per_128 * batch_size / 128,
            weight_decay=self.weight_decay if self.weight_decay is not None else decay,
            crop_padding=self.crop_padding if self.crop_padding is not None else (2 if image_size <= 28 else 4),
            out=self.run_dir(dataset),
        )

    def run_dir(self, dataset: str | None = None) -> str:
        """``--out``, or the default run directory ``runs/MODEL-DATA``."""
        dataset = self.data if dataset is None else dataset
        return self.out if self.out is not None else f"runs/{self.model}-{dataset.replace('/', '_').replace(':', '_')}"


DEFAULT_EPOCHS = {"fashion-mnist-mini": 10, "fashion-mnist": 15, "cifar10": 30, "cifar100": 30}
FROM_SCRATCH = {"sgd": (0.1, 5e-4), "adamw": (2e-3, 0.05)}  # (peak lr per 128 images, weight decay)
# Pretrained features need small steps; the fresh classifier gets head_lr_scale (10x) on top.
FINE_TUNING = {"sgd": (0.01, 1e-4), "adamw": (5e-4, 0.05)}
