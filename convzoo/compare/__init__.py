# SPDX-License-Identifier: MIT
"""``convzoo compare`` as a library: plan the line-up's measurements for this machine, measure, save, report.

The main job's data flow here is three calls: :func:`run` plans (:mod:`.plan`: probe each model, fit the phases
to the budget), measures (:mod:`.measure`: cost, speed, the learns-check; :mod:`.imagenet`: top-1 on a local
validation set) phase by phase in :class:`Comparison`, saving after each, and returns the rows;
:func:`convzoo.report.render.write_report` renders them. From Python::

    from convzoo import compare
    from convzoo.report.render import write_report

    results = compare.run(compare.CompareConfig(models=["resnet18", "mobilenet_v3_large"], learns_check=False))
    write_report(results.record, results.out)["html"]
"""

from .comparison import (
    LINEUP,
    CompareConfig,
    Comparison,
    Event,
    Results,
    StopEvent,
    StopRequested,
    remove_comparison,
    run,
)
from .plan import compare_budget

__all__ = [
    "LINEUP",
    "CompareConfig",
    "Comparison",
    "Event",
    "Results",
    "StopEvent",
    "StopRequested",
    "compare_budget",
    "remove_comparison",
    "run",
]
