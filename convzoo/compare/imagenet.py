# SPDX-License-Identifier: MIT
"""``compare --imagenet PATH``: ImageNet-1k top-1 measured here, beside the published figure.

The published top-1 of released weights is what practitioners choose by, but it is the publisher's figure. With a
local copy of the validation set, the comparison measures the *same weights* the published column names (same
source and tag, each with its own evaluation transform, :func:`convzoo.evaluation.measure_imagenet`) on a
class-balanced subset, and reports the measured figure with its image count and standard error, in its own column:
measured and published are never mixed, and the frontier stays on the published figures, which every model has.

The phase runs after ``speed`` (whose batch-16 throughput gives its time estimate) and before ``train``, so the
training is fitted to the time that is really left.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import ConvzooError

DEFAULT_LIMIT = 500  # images per model: a standard error of about 2 points at 75% top-1, in ~1 min on 2 cores
DECODE_S_PER_IMAGE = 0.012  # JPEG decode + resize of an average ImageNet validation image on one core (estimate)


def check_folder(path: str | Path, labels: str | Path | None, limit: int | None) -> int:
    """Fail before any work when ``path`` is not an ImageNet validation set; the number of images each model gets."""
    from ..data.imagenet import find_imagenet, spread_over_classes

    return len(spread_over_classes(find_imagenet(path, labels), limit).paths)


def estimate_seconds(row: dict, images: int) -> float:
    """Decode plus the forward passes at the measured eager batch-16 throughput (scaled to the published size)."""
    throughput = row.get("throughput_b16")
    if not throughput:
        return images * (DECODE_S_PER_IMAGE + 0.1)  # no speed measured: assume a slow model
    px = (row.get("published") or {}).get("resolution", 224)
    return images * (DECODE_S_PER_IMAGE + (px / 224) ** 2 / throughput)


def standard_error_pct(top1_pct: float, images: int) -> float:
    """Binomial standard error of a top-1 measured on ``images`` images, in points."""
    p = top1_pct / 100
    return 100 * math.sqrt(p * (1 - p) / max(images, 1))


def measure_column(name: str, row: dict, path: str, labels: str | None, limit: int | None) -> dict:
    """Top-1/top-5 of the weights the published column names, on ``path``; the reason instead where it cannot run."""
    from ..evaluation import measure_imagenet

    published = row.get("published")
    if not published:
        return {"imagenet_note": "no released weights"}
    try:
        result = measure_imagenet(name, published["source"], path, labels=labels, limit=limit)
    except ConvzooError as error:  # weights not cached and no network, say: this model only
        return {"imagenet_note": str(error).splitlines()[0][:200]}
    keys = ("top1_pct", "top5_pct", "images", "classes", "source", "weights", "layout", "images_per_s")
    measured = {key: result[key] for key in keys}
    measured["standard_error_pct"] = round(standard_error_pct(result["top1_pct"], result["images"]), 2)
    measured["skipped_files"] = len(result["skipped_files"])
    return {"imagenet": measured}
