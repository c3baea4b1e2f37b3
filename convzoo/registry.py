# SPDX-License-Identifier: MIT
"""The model registry: one name → one builder plus the facts a user asks about it.

Family modules register their variants with :func:`register_model` from the
table at the end of their file; :meth:`ModelEntry.build` builds one with the
arguments every model understands. The public factory, which also loads
released weights and makes backbones, is :func:`convzoo.factory.create_model`:
it sits above ``weights/`` and ``models/``, so this module imports neither
(the layer order in pyproject.toml's import contracts).
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .errors import OptionError


@dataclass(frozen=True)
class Paper:
    """Where an architecture was published."""

    title: str
    arxiv: str
    year: int


@dataclass(frozen=True)
class ModelEntry:
    """A registered variant: how to build it and what is known about it."""

    name: str
    builder: Callable[..., nn.Module]
    family: str
    paper: Paper
    default_input_size: tuple[int, int, int] = (3, 224, 224)
    reference: dict[str, str] = field(default_factory=dict)
    # arguments the reference builders need to build the same architecture, per library
    reference_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # attributes of a reference module that are create_model options of ours (GoogLeNet's transform_input)
    reference_attributes: tuple[str, ...] = ()
    # per library, (child, sibling) pairs where its module order differs from ours: each module's ``child`` is
    # registered just before its ``sibling`` here, elsewhere there (timm's RegNet shortcut); see weights/convert.py
    reference_reorder: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    min_input_size: int = 32  # smallest H and W the default (ImageNet) layout accepts
    small_min_input_size: int | None = 28  # with small_input=True; None: no small-input variant
    native_small_input: bool = False  # designed for 28-32 px images (CIFAR nets): no small-input variant needed
    uses_drop_path: bool = False  # whether drop_path_rate (stochastic depth) applies
    extra_info: dict[str, Any] = field(default_factory=dict)

    def build(
        self,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        drop_rate: float | None = None,
        drop_path_rate: float | None = None,
        small_input: bool = False,
        **kwargs: Any,
    ) -> nn.Module:
        """This variant with random weights; the options every model understands are checked here.

        ``drop_rate`` is the classifier's dropout and ``drop_path_rate`` the
        stochastic-depth rate; ``None`` keeps the family's published default.
        ``small_input=True`` selects the variant for 28–64 px images (see each
        family's docstring for what changes). Family-specific options pass through
        ``kwargs`` (e.g. ``aux_logits`` for GoogLeNet, ``width_mult`` for MobileNet).
        """
        if num_classes < 0 or in_chans < 1:
            raise OptionError(f"num_classes must be >= 0 and in_chans >= 1, got {num_classes}, {in_chans}")
        if small_input:
            if self.small_min_input_size is None:
                raise OptionError(f"{self.name} has no small-input variant")
            kwargs["small_input"] = True
        if drop_rate is not None:
            if not 0.0 <= drop_rate < 1.0:
                raise OptionError(f"drop_rate must be in [0, 1), got {drop_rate}")
            kwargs["drop_rate"] = drop_rate
        if drop_path_rate is not None:
            if not self.uses_drop_path:
                raise OptionError(f"{self.name} does not use stochastic depth; drop_path_rate does not apply")
            if not 0.0 <= drop_path_rate < 1.0:
                raise OptionError(f"drop_path_rate must be in [0, 1), got {drop_path_rate}")
            kwargs["drop_path_rate"] = drop_path_rate
        return self.builder(num_classes=num_classes, in_chans=in_chans, **kwargs)


_REGISTRY: dict[str, ModelEntry] = {}

# Facts about the collection, kept here so that generic code (training, bench, deploy) names no model.
DEFAULT_MODEL = "cifar_resnet20"  # trains in minutes on 2 CPU cores; `convzoo train` without --model
LECTURE_LINEUP = (  # the lecture's architectures, in its order: `convzoo compare` without models
    "alexnet",
    "vgg16",
    "googlenet",
    "resnet18",
    "resnet50",
    "resnext50_32x4d",
    "xception",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "efficientnet_v2_s",
    "convnext_tiny",
)


def register_model(name: str, builder: Callable[..., nn.Module], **facts: Any) -> ModelEntry:
    """Register ``builder`` under ``name``; ``facts`` are the :class:`ModelEntry` fields."""
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is registered twice")
    entry = ModelEntry(name=name, builder=builder, **facts)
    _REGISTRY[name] = entry
    return entry


def get_entry(name: str) -> ModelEntry:
    """The registry entry for ``name``; unknown names raise ``ValueError`` with the closest matches."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise OptionError(f"unknown model {name!r}{hint} (`convzoo models` lists all {len(_REGISTRY)})") from None


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style ``pattern`` (``"resnet*"``), sorted."""
    return sorted(name for name in _REGISTRY if fnmatch.fnmatchcase(name, pattern))


def wants_small_input(name: str, image_size: int) -> bool:
    """Whether images of ``image_size`` px call for the small-input variant (under 64 px, unless designed for them)."""
    entry = get_entry(name)
    return image_size < 64 and entry.small_min_input_size is not None and not entry.native_small_input


@functools.cache
def count_params(name: str, **kwargs: Any) -> int:
    """Parameters of ``create_model(name, **kwargs)``, counted without allocating memory."""
    with torch.device("meta"):
        model = get_entry(name).build(**kwargs)
    return sum(p.numel() for p in model.parameters())


def model_facts(name: str) -> dict[str, Any]:
    """What the registry knows of a model: family, paper, input sizes, parameter count, reference names
    (:func:`convzoo.model_info` adds its released weights)."""
    entry = get_entry(name)
    return {
        "name": entry.name,
        "family": entry.family,
        "paper": entry.paper.title,
        "arxiv": entry.paper.arxiv,
        "year": entry.paper.year,
        "default_input_size": entry.default_input_size,
        "min_input_size": entry.min_input_size,
        "small_min_input_size": entry.small_min_input_size,
        "param_count": count_params(name),
        "reference": dict(entry.reference),
        "uses_drop_path": entry.uses_drop_path,
        **entry.extra_info,
    }
