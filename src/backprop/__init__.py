"""backprop: neural networks in NumPy, every gradient the chain rule written out by hand."""

from . import init
from .dtypes import get_default_dtype, set_default_dtype
from .layers.base import Layer
from .layers.linear import Linear

__version__ = "0.1.0"

__all__ = [
    "Layer",
    "Linear",
    "get_default_dtype",
    "init",
    "set_default_dtype",
]
