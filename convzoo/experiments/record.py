# SPDX-License-Identifier: MIT
"""The record of an experiment run: ``results.json`` (numbers and provenance) and ``report.md`` (the same, to read).

Both open with the claim and whether it held at this scale; with the claim judged in parts
(:mod:`.verdicts`) the parts are stored as data and the report opens with their table.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from .. import files
from ..provenance import provenance
from ..runtime import cpu_kind
from ..tables import to_json
from .speed import describe
from .verdicts import UNDECIDED, Part, overall, parts_table

if TYPE_CHECKING:
    from .lab import Lab


def write_record(
    lab: Lab,
    results: dict[str, Any],
    body: str,
    *,
    claim: str,
    held: bool | None = None,
    verdict: str = "",
    parts: list[Part] | None = None,
) -> Path:
    """Write results.json and report.md into ``lab.out``; returns the report's path.

    ``held`` None means the run cannot tell. With ``parts`` ``held`` follows from them (held only if every
    part held). A ``--quick`` run decides nothing: each part is recorded as undecided, with what its rule
    said on the quick numbers kept in the evidence.
    """
    wall = lab.elapsed()
    machine = cpu_kind()
    if parts is not None:
        if lab.quick:
            parts = [
                Part(
                    p.name,
                    p.claim,
                    UNDECIDED,
                    f"quick mode, too short to judge (the rule said: {p.verdict}). " + p.evidence,
                    p.numbers,
                )
                for p in parts
            ]
        held = overall(parts)
        verdict = verdict or "; ".join(f"{p.name}: {p.verdict}" for p in parts) + "."
    record = {
        "experiment": lab.name,
        "quick": lab.quick,
        "budget_minutes": lab.budget_minutes,
        "wall_seconds": round(wall, 1),
        "claim": claim,
        "held": held,
        "verdict": verdict,
        **({"parts": [p.as_dict() for p in parts]} if parts is not None else {}),
        "provenance": provenance(allow_dirty=True),
        "settings": {**asdict(lab.settings), "label": lab.settings.label, "chosen_by": lab.speed},
        "results": results,
    }
    files.write_text(lab.out / "results.json", to_json(record, indent=1, default=_json_default) + "\n")
    mark = {True: "held", False: "did not hold", None: "is undecided at this budget"}[held]
    table = f"{parts_table(parts)}\n" if parts is not None else ""
    header = (
        f"# Experiment `{lab.name}`\n\n**Claim:** {claim}\n\n**At this scale the claim {mark}.** {verdict}\n\n"
        f"{table}"
        f"Command: `{record['provenance']['command']}` · machine: {machine['model']} ({machine['label']}), "
        f"{torch.get_num_threads()} threads, {lab.settings.label} · wall time {wall / 60:.1f} min"
        f"{' (quick mode: too short to judge the claim)' if lab.quick else ''} · commit "
        f"`{record['provenance']['git_commit']}`\n\n{describe(lab.settings, lab.speed)}\n\n"
    )
    files.write_text(lab.out / "report.md", header + body.rstrip() + "\n")
    return lab.out / "report.md"


def _json_default(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.tolist()
    return float(value)
