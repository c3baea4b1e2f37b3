"""Where weights come from: conversion of torchvision/timm state dicts."""

from .convert import adapt_input_conv, convert_state_dict, load_converted

__all__ = ["adapt_input_conv", "convert_state_dict", "load_converted"]
