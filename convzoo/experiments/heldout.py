# SPDX-License-Identifier: MIT
"""Training on part of the sample and scoring on the rest: more evaluation images, a smaller standard error.

The embedded Fashion-MNIST sample has 5,000 training and 1,000 test images. A
comparison decided on test accuracy needs its difference to exceed the
evaluation's own sampling error, and on 1,000 images that error is about a
point. So the experiments that compare accuracies train on the first ``n``
training images and score on the *rest of the training images and the test
images* (all drawn from the same distribution, none seen in training), and
record per image how many seeds got it right, from which
:func:`convzoo.experiments.verdicts.paired_difference` computes the standard
error of a difference between two arms.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..training.short_run import Data, precise_batch_norm, resized
from .scoring import on_device_of


def split(data: Data, train_count: int, evaluation_limit: int | None = None) -> tuple[Data, Tensor, Tensor]:
    """The first ``train_count`` training images as a training set; the other training images and the test
    images (the first ``evaluation_limit`` of them, when given) as the evaluation set."""
    train = Data(
        data.train_images[:train_count],
        data.train_labels[:train_count],
        data.test_images,
        data.test_labels,
        data.classes,
    )
    images = torch.cat([data.train_images[train_count:], data.test_images])
    labels = torch.cat([data.train_labels[train_count:], data.test_labels])
    if evaluation_limit is not None:
        images, labels = images[:evaluation_limit], labels[:evaluation_limit]
    return train, images, labels


@torch.no_grad()
def correct(model: nn.Module, images: Tensor, labels: Tensor, image_size: int, batch: int = 500) -> Tensor:
    """Which images ``model`` classifies correctly, in eval mode (a bool per image)."""
    model.eval()
    hits = []
    for start in range(0, len(labels), batch):
        chunk, truth = on_device_of(model, images[start : start + batch], labels[start : start + batch])
        hits.append((model(resized(chunk, image_size)).argmax(1) == truth).cpu())
    return torch.cat(hits)


def score(
    model: nn.Module,
    train: Data,
    images: Tensor,
    labels: Tensor,
    image_size: int,
    precise_bn_images: int = 2000,
    fit_images: int | None = None,
) -> tuple[float, float, Tensor]:
    """Training-set accuracy (on the first ``fit_images`` of it, when given), evaluation accuracy and per-image hits
    of a trained ``model``.

    Batch norm statistics are re-estimated on (up to ``precise_bn_images`` of) the training set first
    (:func:`convzoo.training.short_run.precise_batch_norm`), so eval mode measures the trained weights.
    """
    precise_batch_norm(
        model, train.train_images[:precise_bn_images], image_size, batch=min(128, len(train.train_labels))
    )
    fit = correct(model, train.train_images[:fit_images], train.train_labels[:fit_images], image_size)
    fit = fit.float().mean().item()
    hits = correct(model, images, labels, image_size)
    return fit, hits.float().mean().item(), hits


def seed_counts(hits: list[Tensor]) -> list[int]:
    """Per image, how many of the seeds' runs got it right (what ``paired_difference`` takes)."""
    return torch.stack(hits).sum(0).tolist()


__all__ = ["correct", "score", "seed_counts", "split"]
