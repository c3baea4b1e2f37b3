# SPDX-License-Identifier: MIT
"""The lecture's lab: experiments that show by training why each architectural idea matters.

Each experiment is one module that reads top to bottom (``NAME.py``: the setup
and ``measure``; where judging and the report would make it long they sit
beside it in ``NAME_judge.py``), built on the shared loop in
:mod:`convzoo.experiments.lab` and the cost model; ``convzoo experiment NAME``
runs it. Committed runs live in ``docs/experiments/NAME/``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch

from ..errors import OptionError
from .lab import Lab
from .precision import choose

NAMES = ("filters", "gradients", "degradation", "bottleneck", "scaling")
QUICK_BUDGET_MINUTES = 0.5  # --quick: the structure of the results, in well under a minute; too short to judge


def experiment(name: str) -> ModuleType:
    if name not in NAMES:
        raise OptionError(f"unknown experiment {name!r}; `convzoo experiment --list` shows: {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}")


def runner(name: str, scope: str | None = None) -> Callable[[Lab], None]:
    """What runs experiment ``name``: its ``run``, or with ``scope`` one of its ``SCOPES`` (a part of it, e.g.
    bottleneck's ``cost``: what needs no training). An unknown name or scope is one line."""
    module = experiment(name)
    if scope is None:
        return module.run
    scopes = getattr(module, "SCOPES", {})
    if scope not in scopes:
        known = ", ".join(scopes) or "none: it runs whole"
        raise OptionError(f"experiment {name!r} has no scope {scope!r} (its scopes: {known})")
    return scopes[scope]


def run(
    name: str,
    *,
    out: Path,
    budget_minutes: float | None = None,
    quick: bool = False,
    device: str = "auto",
    amp: str = "auto",
    scope: str | None = None,
) -> Path:
    """Run experiment ``name``; returns its report.md.

    ``device`` (auto, cpu, cuda) and ``amp`` (auto, none, bf16) say what :mod:`convzoo.experiments.precision` may choose
    from; it times the candidates (not with ``quick``) and every recipe of the run trains in the fastest. ``scope``: see
    :func:`runner`.
    """
    module = experiment(name)
    run_lab = runner(name, scope)
    budget = (
        budget_minutes
        if budget_minutes is not None
        else (QUICK_BUDGET_MINUTES if quick else module.DEFAULT_BUDGET_MINUTES)
    )
    if budget <= 0:
        raise OptionError(f"--budget must be positive minutes, got {budget}")
    lab = Lab(name, out, budget, quick, scope=scope)
    lab.settings, lab.speed = choose(device, amp, measure=not quick)  # a bad option fails before the folder is made
    out.mkdir(parents=True, exist_ok=True)
    torch.set_flush_denormal(True)  # vanishing signals reach denormal floats, several times slower on x86
    try:
        run_lab(lab)
    finally:
        torch.set_flush_denormal(False)
    return out / "report.md"


__all__ = ["NAMES", "experiment", "run", "runner"]
