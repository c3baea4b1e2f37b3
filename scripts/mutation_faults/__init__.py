# SPDX-License-Identifier: MIT
"""The planted faults of ``scripts/mutation_check.py``, one module per area of the code.

An area is where a fault lives, not which test catches it: a fault in compare's ranking belongs to
``compare`` even when a lab test catches it. ``AREAS`` maps each area to its faults; ``FAULTS`` is all of
them in that order. Names are unique across areas.
"""

from __future__ import annotations

from . import checkpoints, compare, data, deploy, evaluation, lab, models, training, weights
from .fault import HISTORY, INDEPENDENT, Fault

AREAS: dict[str, tuple[Fault, ...]] = {
    module.__name__.rsplit(".", 1)[-1]: module.FAULTS
    for module in (models, weights, data, training, evaluation, checkpoints, lab, compare, deploy)
}
FAULTS: tuple[Fault, ...] = tuple(fault for faults in AREAS.values() for fault in faults)

__all__ = ["AREAS", "FAULTS", "HISTORY", "INDEPENDENT", "Fault"]
