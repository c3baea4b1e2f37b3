# SPDX-License-Identifier: MIT
"""Channel rounding used by the mobile families (MobileNet v2/v3, EfficientNet).

Width multipliers produce fractional channel counts; hardware (and the released
weights) want multiples of 8. The rule below is the one of the TensorFlow
reference code for MobileNet v2 (Sandler et al. 2018), which torchvision and
timm both use: round to the nearest multiple, but never lose more than 10%.
"""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` without dropping below 90% of it."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
