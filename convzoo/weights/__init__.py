# SPDX-License-Identifier: MIT
"""Where weights come from: released weights (table, cache, download), torchvision/timm conversion."""

from .catalog import all_weights, weights_for
from .convert import adapt_input_conv, convert_state_dict, load_converted
from .from_reference import from_reference
from .pretrained import model_info

__all__ = [
    "adapt_input_conv",
    "all_weights",
    "convert_state_dict",
    "from_reference",
    "load_converted",
    "model_info",
    "weights_for",
]
