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

import torch
from torch import nn

from .config import TrainConfig


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    groups = parameter_groups(model, config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(groups, lr=config.lr)


def build_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    total = max(1, config.epochs * steps_per_epoch)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total, pct_start=0.15, div_factor=10, final_div_factor=100
        )
    warmup = min(total - 1, int(config.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
