# SPDX-License-Identifier: MIT
"""Rows of dicts as a rich table, Markdown, CSV or JSON: one renderer for every command and report."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

FORMATS = ("table", "md", "csv", "json")


def _looks_numeric(value: Any) -> bool:
    if isinstance(value, (int, float)):
        return True
    text = str(value).replace(",", "").replace("%", "").replace("×", "")
    try:
        float(text)
    except ValueError:
        return False
    return True


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (nested in dicts, lists and tuples) as ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def to_json(value: Any, **options) -> str:
    """Strict JSON, as every JSON file and output of convzoo is written: a NaN or infinity is ``null``
    (``json.dumps`` writes a bare ``NaN``, which no strict parser, ``jq`` or a browser's ``JSON.parse``, reads)."""
    return json.dumps(finite(value), allow_nan=False, **options)


def markdown(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table: a header row, a separator, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render(rows: Sequence[dict[str, Any]], fmt: str, *, title: str | None = None) -> str | Table:
    """A rich ``Table`` for ``"table"``, else the text of the chosen format."""
    columns = list(rows[0]) if rows else []
    if fmt == "json":
        return to_json(list(rows), indent=2, default=str)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if fmt == "md":
        return markdown(columns, ([row[c] for c in columns] for row in rows))
    # Text, not str: rich would read "[dogs]" in a class or file name as markup (and drop it, or fail on "[/x]")
    table = Table(title=Text(title) if title is not None else None)
    for column in columns:
        numeric = bool(rows) and all(_looks_numeric(row[column]) for row in rows)
        table.add_column(Text(str(column)), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(Text(str(row[c])) for c in columns))
    return table


def console(*, stderr: bool = False) -> Console:
    """A rich console for plain text, on stdout or ``stderr``: the only one convzoo makes.

    Off a terminal (a file, a pipe, a scheduler's log) lines are never wrapped (``soft_wrap``: a note that names
    a long path stays one line a ``grep`` finds) and tables get 200 columns rather than 80. Markup and emoji
    codes are off: what convzoo prints holds class and file names, and ``[dogs]`` or ``[/cats]`` (a folder
    name) must print as written, not be read as a style or fail as a closing tag.
    """
    stream = sys.stderr if stderr else sys.stdout
    wide = {} if stream.isatty() else {"width": 200, "soft_wrap": True}
    return Console(stderr=stderr, markup=False, emoji=False, **wide)


def emit(rows: Sequence[dict[str, Any]], fmt: str, *, title: str | None = None) -> None:
    """Print ``rows`` in ``fmt`` to stdout (plain text for machine formats, rich for the table)."""
    rendered = render(rows, fmt, title=title)
    if isinstance(rendered, str):
        print(rendered)
    else:
        console().print(rendered)
