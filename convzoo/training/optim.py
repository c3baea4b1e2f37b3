# SPDX-License-Identifier: MIT
"""Optimizer and learning-rate schedule.

Weight decay is not applied to normalization parameters and biases (one
dimension): decaying them only fights the normalization (Goyal et al. 2017,
arXiv:1706.02677; He et al. 2019, "Bag of Tricks", arXiv:1812.01187).
Schedules step once per optimizer step: a linear warm-up then cosine decay to
zero, or the one-cycle policy (Smith & Topin 2017, arXiv:1708.07120) from
torch, which reaches good accuracy in few epochs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..errors import OptionError
from .config import TrainConfig
from .setup import classifier_parameter_ids


def parameter_groups(model: nn.Module, *, lr: float, weight_decay: float, head_lr_scale: float = 1.0) -> list[dict]:
    """Backbone and classifier, each split into decayed weights and undecayed norms/biases (empty groups left out).

    Each group's ``lr`` is the peak rate times its scale (``head_lr_scale`` for the classifier: a fresh layer
    on pretrained features has to move far, the features little; Howard & Ruder 2018, arXiv:1801.06146).
    """
    classifier = classifier_parameter_ids(model)
    groups = {(part, decayed): [] for part in ("backbone", "head") for decayed in (True, False)}
    for param in model.parameters():
        if param.requires_grad:
            groups[("head" if id(param) in classifier else "backbone", param.ndim > 1)].append(param)
    return [
        {
            "params": params,
            "weight_decay": weight_decay if decayed else 0.0,
            "part": part,
            "lr": lr * (head_lr_scale if part == "head" else 1.0),
        }
        for (part, decayed), params in groups.items()
        if params
    ]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    groups = parameter_groups(model, lr=config.lr, weight_decay=config.weight_decay, head_lr_scale=config.head_lr_scale)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(groups, lr=config.lr)


def build_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """Per step: one-cycle, or linear warm-up then cosine to zero; ``freeze_epochs`` hold the backbone's rate at 0."""
    total = max(1, config.epochs * steps_per_epoch)
    if config.schedule == "onecycle":
        if config.freeze_epochs:
            raise OptionError("--freeze-epochs needs --schedule cosine (the default when fine-tuning)")
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=total,
            pct_start=0.15,
            div_factor=10,
            final_div_factor=100,
        )
    warmup = min(total - 1, int(config.warmup_epochs * steps_per_epoch))
    frozen = config.freeze_epochs * steps_per_epoch

    factor = warmup_cosine(warmup, total)

    def backbone_factor(step: int) -> float:  # after linear probing the backbone warms up from 0 again
        if step < frozen:
            return 0.0
        return factor(step) * min(1.0, (step - frozen + 1) / max(1, warmup)) if frozen else factor(step)

    lambdas = [backbone_factor if group.get("part") == "backbone" else factor for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)


def warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    """The learning-rate factor of optimizer step ``step``: linear warm-up over ``warmup`` steps to 1, then cosine
    decay to 0 at ``total`` (Goyal et al. 2017; Loshchilov & Hutter 2017, arXiv:1608.03983)."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def build_ema(model: nn.Module, decay: float | None):
    """An exponential moving average of the weights and buffers (``decay`` per step), or None without one."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
