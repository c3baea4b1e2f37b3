# SPDX-License-Identifier: MIT
"""The measured ImageNet column of the compare report: each cell with its standard error, and the opening's line.

The measurement itself is :mod:`convzoo.compare.imagenet`; measured and published top-1 are never mixed.
"""

from __future__ import annotations


def cell(row: dict) -> str | None:
    """``76.1 ±1.9 (500)``: measured top-1, its standard error and the image count; or why there is none."""
    measured = row.get("imagenet")
    if measured:
        return f"{measured['top1_pct']:.1f} ±{measured['standard_error_pct']:.1f} ({measured['images']})"
    return row.get("imagenet_note")


def summary(rows: list[dict]) -> str | None:
    """One line for the report's opening: how far measured top-1 fell from published, against its noise."""
    measured = [r for r in rows if r.get("imagenet") and r.get("published")]
    if not measured:
        return None
    gaps = [(r["imagenet"]["top1_pct"] - r["published"]["top1"], r) for r in measured]
    gap, row = max(gaps, key=lambda pair: abs(pair[0]))
    within = sum(abs(g) <= 2 * r["imagenet"]["standard_error_pct"] for g, r in gaps)
    return (
        f"ImageNet-1k top-1 measured here for {len(measured)} model{'s' * (len(measured) > 1)} on the released weights "
        f"({row['imagenet']['images']} validation images each): {within} of {len(measured)} within two standard "
        f"errors of the published figure; the largest difference is {row['model']}, {gap:+.1f} points "
        f"(standard error {row['imagenet']['standard_error_pct']:.1f})."
    )
