# SPDX-License-Identifier: MIT
"""convzoo: the convolutional architectures of a CNN lecture as clean, verified PyTorch.

Public API: :func:`create_model` (``pretrained=`` loads released weights),
:func:`list_models`, :func:`model_info`, :func:`convert_state_dict`,
:func:`from_reference`, :func:`profile`.
"""

from . import models  # noqa: F401  (registers every family)
from .analysis import profile
from .factory import create_model
from .registry import list_models
from .weights import convert_state_dict, from_reference, model_info

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "convert_state_dict",
    "create_model",
    "from_reference",
    "list_models",
    "model_info",
    "profile",
]
