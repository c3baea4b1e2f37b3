# SPDX-License-Identifier: MIT
"""How the lab scores a trained network: accuracy and the training set's fit in eval mode, after precise batch norm.

Evaluation runs in fp32 on the device the model is on, whatever precision it trained in; the lab's data stays on
the CPU and moves in batches (:func:`on_device_of`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..training.short_run import Data, precise_batch_norm, resized


def on_device_of(model: nn.Module, *tensors: Tensor) -> tuple[Tensor, ...]:
    """``tensors`` moved to the device ``model``'s parameters are on (the lab keeps its data on the CPU)."""
    device = next(model.parameters()).device
    return tuple(t.to(device) for t in tensors)


@torch.no_grad()
def accuracy(model: nn.Module, images: Tensor, labels: Tensor, image_size: int = 28, batch: int = 500) -> float:
    """Top-1 accuracy in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(labels), batch):
        chunk, truth = on_device_of(model, images[start : start + batch], labels[start : start + batch])
        correct += (model(resized(chunk, image_size)).argmax(1) == truth).sum().item()
    return correct / len(labels)


@torch.no_grad()
def training_set_fit(
    model: nn.Module, data: Data, image_size: int = 28, batch: int = 500, precise_bn_images: int = 2000
) -> dict[str, float]:
    """Error and mean cross-entropy of the training set in ``data`` in eval mode (the degradation claim's quantity).

    Batch norm statistics are first re-estimated on the first ``precise_bn_images`` of it
    (:func:`convzoo.training.short_run.precise_batch_norm`; the model is changed in place: it is evaluated after
    training).
    """
    precise_batch_norm(model, data.train_images[:precise_bn_images], image_size)
    model.eval()
    wrong, loss_sum = 0, 0.0
    for start in range(0, len(data.train_labels), batch):
        images, labels = on_device_of(
            model, data.train_images[start : start + batch], data.train_labels[start : start + batch]
        )
        logits = model(resized(images, image_size))
        wrong += (logits.argmax(1) != labels).sum().item()
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
    count = len(data.train_labels)
    return {"error": wrong / count, "loss": loss_sum / count}


__all__ = ["accuracy", "on_device_of", "training_set_fit"]
