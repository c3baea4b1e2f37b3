# SPDX-License-Identifier: MIT
"""The result of :func:`convzoo.profile`: per-layer rows, totals, grouping by depth, and exports."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..formats import render
from .counting import OTHER_KINDS

BYTES_PER_PARAM = {"fp32": 4, "fp16": 2, "int8": 1}
MIB = 2**20


@dataclass
class LayerRow:
    """One module's own work (a leaf layer, or the functional ops in a block's ``forward``)."""

    path: str
    type: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    params: int
    trainable_params: int
    macs: int
    other_ops: dict[str, int] = field(default_factory=dict)
    activation_elements: int = 0
    activation_bytes: int = 0
    receptive_field: tuple[int, int] | None = None  # pixels (h, w) of the input one output element sees
    jump: tuple[int, int] | None = None  # input pixels between neighbouring outputs (cumulative stride)
    stride: tuple[int, int] | None = None  # this layer's own stride, where it has one

    @property
    def total_other_ops(self) -> int:
        return sum(self.other_ops.values())


def _fmt_shape(shape: tuple[int, ...] | None) -> str:
    return "x".join(map(str, shape)) if shape else "-"


def human(count: float) -> str:
    """1234567 -> '1.23M' (table display; CSV and JSON keep exact integers)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(count) >= scale:
            return f"{count / scale:.2f}{unit}"
    return str(int(count)) if float(count).is_integer() else f"{count:.2f}"


def _fmt_pair(pair: tuple[int, int] | None) -> str:
    if not pair:
        return "-"
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


@dataclass
class Profile:
    """Per-layer records (``rows``) and totals of one forward pass."""

    model_name: str
    input_size: tuple[int, ...]
    batch_size: int
    rows: list[LayerRow]
    total_params: int
    trainable_params: int

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    @property
    def total_other_ops(self) -> int:
        return sum(row.total_other_ops for row in self.rows)

    @property
    def other_ops_by_kind(self) -> dict[str, int]:
        return {kind: sum(row.other_ops.get(kind, 0) for row in self.rows) for kind in OTHER_KINDS}

    @property
    def activation_bytes(self) -> int:
        """Bytes of every tensor the forward pass created (views and in-place results excluded)."""
        return sum(row.activation_bytes for row in self.rows)

    def weight_mib(self, dtype: str = "fp32") -> float:
        return self.total_params * BYTES_PER_PARAM[dtype] / MIB

    def grouped(self, depth: int) -> list[LayerRow]:
        """Rows folded into their ancestors ``depth`` levels below the model (depth 0: one row)."""
        groups: dict[str, list[LayerRow]] = {}
        for row in self.rows:
            parts = [] if row.path == "(model)" else row.path.split(".")
            key = ".".join(parts[:depth]) or "(model)"
            groups.setdefault(key, []).append(row)
        folded = []
        for key, members in groups.items():
            if len(members) == 1 and members[0].path == key:
                folded.append(members[0])
                continue
            last_spatial = next((m for m in reversed(members) if m.receptive_field), None)
            folded.append(
                LayerRow(
                    path=key,
                    type=f"{len(members)} layers",
                    input_shape=members[0].input_shape,
                    output_shape=members[-1].output_shape,
                    params=sum(m.params for m in members),
                    trainable_params=sum(m.trainable_params for m in members),
                    macs=sum(m.macs for m in members),
                    other_ops={k: sum(m.other_ops.get(k, 0) for m in members) for k in OTHER_KINDS},
                    activation_elements=sum(m.activation_elements for m in members),
                    activation_bytes=sum(m.activation_bytes for m in members),
                    receptive_field=last_spatial.receptive_field if last_spatial else None,
                    jump=last_spatial.jump if last_spatial else None,
                )
            )
        return folded

    def table_rows(self, depth: int | None = None, *, readable: bool = False) -> list[dict[str, Any]]:
        """One dict per row; ``readable`` shortens counts to 1.23M for display."""
        rows = self.rows if depth is None else self.grouped(depth)
        show = human if readable else (lambda value: value)
        return [
            {
                "layer": row.path,
                "type": row.type,
                "output": _fmt_shape(row.output_shape),
                "params": show(row.params),
                "MACs": show(row.macs),
                "other ops": show(row.total_other_ops),
                "act. KiB": round(row.activation_bytes / 1024, 1),
                "RF": _fmt_pair(row.receptive_field),
                "jump": _fmt_pair(row.jump),
            }
            for row in rows
        ]

    def totals(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "input": _fmt_shape((self.batch_size, *self.input_size)),
            "params": self.total_params,
            "trainable_params": self.trainable_params,
            "weights_mib_fp32": round(self.weight_mib("fp32"), 2),
            "weights_mib_fp16": round(self.weight_mib("fp16"), 2),
            "weights_mib_int8": round(self.weight_mib("int8"), 2),
            "macs": self.total_macs,
            "gmacs": round(self.total_macs / 1e9, 3),
            "other_ops": self.total_other_ops,
            "other_ops_by_kind": self.other_ops_by_kind,
            "activation_bytes": self.activation_bytes,
            "activation_mib": round(self.activation_bytes / MIB, 2),
        }

    def summary_line(self) -> str:
        t = self.totals()
        return (
            f"{t['model']} @ {t['input']}: {t['params']:,} params ({t['weights_mib_fp32']:.1f} MiB fp32), "
            f"{t['gmacs']:.3f} GMACs, {t['other_ops'] / 1e6:.1f}M other ops, "
            f"{t['activation_mib']:.1f} MiB activations"
        )

    def render(self, fmt: str = "table", depth: int | None = None):
        """A rich table (``"table"``) or the text of ``"md"``, ``"csv"`` or ``"json"``."""
        if fmt == "json":
            rows = self.rows if depth is None else self.grouped(depth)
            return json.dumps({"totals": self.totals(), "rows": [asdict(r) for r in rows]}, indent=2)
        rendered = render(self.table_rows(depth, readable=fmt == "table"), fmt, title=self.summary_line())
        if fmt == "md":
            return f"**{self.summary_line()}**\n\n{rendered}"
        return rendered

    def to_markdown(self, depth: int | None = None) -> str:
        return self.render("md", depth)

    def to_csv(self, depth: int | None = None) -> str:
        return self.render("csv", depth)

    def to_json(self, depth: int | None = None) -> str:
        return self.render("json", depth)

    def __rich__(self):
        return self.render("table", depth=2)
