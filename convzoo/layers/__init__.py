# SPDX-License-Identifier: MIT
"""Building blocks shared by the model families; one idea per file."""

from .channels import make_divisible
from .classifier_head import ClassifierHead
from .conv_norm_act import ConvNormAct, make_activation
from .drop_path import DropPath, drop_path_rates
from .init import init_weights
from .inverted_residual import InvertedResidual
from .layer_norm_2d import LayerNorm2d
from .separable import DepthwiseSeparableConv
from .squeeze_excite import SqueezeExcite
from .stem import stem_3x3

__all__ = [
    "ClassifierHead",
    "ConvNormAct",
    "DepthwiseSeparableConv",
    "DropPath",
    "InvertedResidual",
    "LayerNorm2d",
    "SqueezeExcite",
    "drop_path_rates",
    "init_weights",
    "make_activation",
    "make_divisible",
    "stem_3x3",
]
