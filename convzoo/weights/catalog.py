# SPDX-License-Identifier: MIT
"""The released ImageNet weights convzoo can load: one entry per (model, source), read from ``pretrained.json``.

The table is data, written by ``scripts/make_weights_table.py`` from the
installed torchvision's weight metadata and timm's pretrained configs, with
the published top-1 (torchvision's metadata; timm's ``results-imagenet.csv``).
A test checks it against torchvision's metadata and timm's configs, so it
cannot drift from what those libraries download. Each entry says:

- where the file is: a URL (torchvision, or timm files on GitHub), or a
  Hugging Face repo and file (timm); and its SHA-256 where one is published.
  torchvision's file names carry the first 8 hex digits of the file's SHA-256
  (``resnet50-11ad3fa6.pth``), which catches a truncated or corrupt download;
  timm's Hugging Face files have no published digest, so the Hugging Face
  cache's own content address (the blob's name) is checked where there is one;
- how the model is built to compute what the source's model computes
  (``settings``: batch-norm eps and momentum, GoogLeNet's ``transform_input``);
- the evaluation transform that gives the published top-1, its license and
  its classes (ImageNet-1k's names, read from torchvision's metadata).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import OptionError
from ..registry import get_entry
from .convert import SOURCES  # the one list of reference libraries


@dataclass(frozen=True)
class EvalTransform:
    """Resize the shorter side to ``resize``, center-crop ``crop``, scale to [0, 1], normalize."""

    resize: int
    crop: int
    interpolation: str  # "bilinear" | "bicubic"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class Weights:
    """One released weights file and everything needed to use it."""

    model: str  # registered convzoo name
    source: str  # "torchvision" | "timm"
    tag: str  # the source's own name: "ResNet50_Weights.IMAGENET1K_V2", "resnet50.a1_in1k"
    url: str  # where the file is downloaded from
    file_name: str  # its name in the cache
    sha256: str | None  # full digest or its published prefix; None where none is published
    num_classes: int
    top1: float | None  # published ImageNet-1k top-1 (%), with this transform
    size_mb: float  # the file's size in MB (10^6 bytes)
    license: str
    transform: EvalTransform
    settings: dict[str, Any] = field(default_factory=dict)  # create_model arguments matching the source's numerics
    hf_repo: str | None = None  # Hugging Face repo holding the file (timm)
    hf_revision: str = "main"

    @property
    def classes(self) -> list[str]:
        """ImageNet-1k's class names in label order, from the installed torchvision's metadata."""
        from torchvision.models._meta import _IMAGENET_CATEGORIES

        return list(_IMAGENET_CATEGORIES)

    def summary(self) -> dict[str, Any]:
        """The facts a user asks for first (``model_info``, ``convzoo models --pretrained``)."""
        return {
            "source": self.source,
            "tag": self.tag,
            "top1": self.top1,
            "size_mb": self.size_mb,
            "license": self.license,
            "input": self.transform.crop,
        }


def _entry(row: dict[str, Any]) -> Weights:
    transform = row["transform"]
    transform = EvalTransform(**{**transform, "mean": tuple(transform["mean"]), "std": tuple(transform["std"])})
    return Weights(**{**row, "transform": transform})


@functools.cache
def _table() -> dict[tuple[str, str], Weights]:
    rows = json.loads(resources.files(__package__).joinpath("pretrained.json").read_text())
    return {(row["model"], row["source"]): _entry(row) for row in rows["weights"]}


def all_weights() -> list[Weights]:
    """Every entry, by model then source (torchvision first)."""
    return sorted(_table().values(), key=lambda w: (w.model, SOURCES.index(w.source)))


def models_with_weights() -> list[str]:
    return sorted({w.model for w in _table().values()})


def sources_for(model: str) -> list[str]:
    """The sources with weights for ``model``, the default (torchvision where it has the model) first."""
    return [source for source in SOURCES if (model, source) in _table()]


def weights_for(model: str, source: str | bool = True) -> Weights:
    """The entry for ``model`` from ``source`` (``True``: the model's default source)."""
    get_entry(model)  # an unknown name gets the registry's error, with suggestions
    available = sources_for(model)
    if not available:
        raise OptionError(f"{model} has no released weights; these models have: {', '.join(models_with_weights())}")
    if source is True:
        source = available[0]
    if source not in available:
        raise OptionError(f"{model} has no {source} weights; it has: {', '.join(available)}")
    return _table()[(model, source)]


__all__ = ["EvalTransform", "Weights", "all_weights", "models_with_weights", "sources_for", "weights_for"]
