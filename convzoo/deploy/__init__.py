"""Deployment: optimized inference and export."""

from .optimize import fold_batch_norms, optimize

__all__ = ["fold_batch_norms", "optimize"]
