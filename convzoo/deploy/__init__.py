# SPDX-License-Identifier: MIT
"""Deployment: optimized inference and export."""

from .optimize import OptimizationReport, Optimized, fold_batch_norms, optimize

__all__ = ["OptimizationReport", "Optimized", "fold_batch_norms", "optimize"]
