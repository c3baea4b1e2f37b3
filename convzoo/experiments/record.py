# SPDX-License-Identifier: MIT
"""The record of an experiment run: ``results.json`` (numbers and provenance) and ``report.md`` (the same, to read).

Both open with the claim and whether it held at this scale; with the claim judged in parts
(:mod:`.verdicts`) the parts are stored as data and the report opens with their table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from .. import files
from ..formats import to_json
from ..provenance import provenance
from ..runtime import cpu_kind
from .precision import describe
from .verdicts import UNDECIDED, Part, headline, overall, parts_table, tally

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
        **({"scope": lab.scope} if lab.scope else {}),
        "quick": lab.quick,
        "budget_minutes": lab.budget_minutes,
        "wall_seconds": round(wall, 1),
        "claim": claim,
        "held": held,
        **({"tally": tally(parts)} if parts is not None else {}),
        "verdict": verdict,
        **({"parts": [p.as_dict() for p in parts]} if parts is not None else {}),
        "provenance": provenance(allow_dirty=True),
        "settings": {**asdict(lab.settings), "label": lab.settings.label, "chosen_by": lab.speed},
        "results": results,
    }
    files.write_text(lab.out / "results.json", to_json(record, indent=1, default=_json_default) + "\n")
    header = (
        _verdict_header(record)
        + f"Command: `{record['provenance']['command']}` · machine: {machine['model']} ({machine['label']}), "
        f"{torch.get_num_threads()} threads, {lab.settings.label} · wall time {wall / 60:.1f} min"
        f"{' (quick mode: too short to judge the claim)' if lab.quick else ''} · commit "
        f"`{record['provenance']['git_commit']}`\n\n{describe(lab.settings, lab.speed)}\n\n"
    )
    files.write_text(lab.out / "report.md", header + body.rstrip() + "\n")
    return lab.out / "report.md"


def _verdict_header(record: dict[str, Any]) -> str:
    """The report's opening, from the record alone: title, claim, the parts' tally and their table."""
    parts = record.get("parts")
    if parts is not None:
        mark = f"At this scale, of the claim's parts: {headline(record)}."
    else:
        mark = "At this scale the claim " + {True: "held", False: "did not hold", None: "is undecided"}[record["held"]]
        mark += "."
    table = f"{parts_table(parts)}\n" if parts is not None else ""
    title = f"# Experiment `{record['experiment']}`\n\n**Claim:** {record['claim']}\n\n"
    return f"{title}**{mark}** {record['verdict']}\n\n{table}"


# keys whose None means "absent" in the lab's results, not a number that was not finite
NONE_MEANS_ABSENT = frozenset({"clip_norm", "clip_ratio_median", "clip_ratio_max", "mean_step_factor", "scope"})


def numbers_restored(value: Any, key: str | None = None) -> Any:
    """Stored results as ``measure`` returned them: strict JSON wrote NaN and ±inf as null, which reads back as None
    and would stop a judge's arithmetic; each is read back as NaN (an inf's sign is lost: the judges treat NaN and
    inf alike as deciding nothing, and an exact 0 is stored as 0), except under :data:`NONE_MEANS_ABSENT`."""
    if isinstance(value, dict):
        return {k: numbers_restored(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers_restored(v, key) for v in value]
    return math.nan if value is None and key not in NONE_MEANS_ABSENT else value


def rejudge(folder: Path, judge: Callable[[dict], list[Part]]) -> Path:
    """Decide a committed run's parts again, with today's rules, from its stored measurements (nothing re-run).

    For a change of the rules (:mod:`.verdicts`), not of what is measured: ``judge`` must accept the stored
    ``results``. ``results.json`` gets the new parts, tally and verdict and a ``rejudged`` entry (the commit whose
    rules decided, beside the measuring commit in ``provenance``); ``report.md`` gets the new opening and a line
    saying so; its body (setup, tables, plots) is the measuring run's. A quick run stays undecided.
    """
    path = folder / "results.json"
    record = json.loads(files.read_input(path, limit=files.READ_LIMIT))
    if record.get("quick") or "parts" not in record:
        raise ValueError(f"{path}: only a full run judged in parts can be re-judged")
    parts = judge(numbers_restored(record["results"]))
    record.update(
        held=overall(parts),
        tally=tally(parts),
        verdict="; ".join(f"{p.name}: {p.verdict}" for p in parts) + ".",
        parts=[p.as_dict() for p in parts],
        rejudged={"git_commit": provenance(allow_dirty=True)["git_commit"], "rules": "convzoo/experiments/verdicts.py"},
    )
    files.write_text(path, to_json(record, indent=1, default=_json_default) + "\n")
    report = folder / "report.md"
    text = files.read_input(report, limit=files.READ_LIMIT).decode()
    body = text[text.index("Command: `") :]
    note = (
        f"Parts re-judged at commit `{record['rejudged']['git_commit']}` with that commit's rules, from the "
        f"measurements of commit `{record['provenance']['git_commit']}` (nothing re-run).\n\n"
    )
    files.write_text(report, _verdict_header(record) + note + body)
    return report


def _json_default(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.tolist()
    return float(value)
