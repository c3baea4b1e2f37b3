# SPDX-License-Identifier: MIT
"""Measuring speed and memory, side by side with the reference implementations."""

from .timing import Timing, time_interleaved

__all__ = ["Timing", "time_interleaved"]
