# SPDX-License-Identifier: MIT
"""The cost model: parameters, multiply-adds, activation memory and receptive fields per layer."""

from .profile import profile
from .profile_result import LayerRow, Profile

__all__ = ["LayerRow", "Profile", "profile"]
