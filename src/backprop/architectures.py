"""The seeds' networks, by name, for the command line and the examples.

=================  ====================================================================
``mlp``            ``softmax(W2 ReLU(W1 ReLU(W0 x)))`` (seed 003): hidden sizes and activation
                   configurable; Linear layers with biases
``cnn``            Conv2d(3x3) - ReLU - MaxPool2d(2) - Conv2d(3x3) - ReLU - MaxPool2d(2) -
                   Linear - ReLU - Linear (seed 003's "with convolutions")
``lenet5``         LeCun et al.'s 1998 network for 28x28 digits: Conv2d(5x5, 6, padding 2) - tanh -
                   AvgPool2d(2) - Conv2d(5x5, 16) - tanh - AvgPool2d(2) - Linear 120 - tanh -
                   Linear 84 - tanh - Linear (the subsampling layers as plain averages)
``sigmoid-mlp``    one sigmoid hidden layer and a softmax output (seeds 000, 001)
``softmax``        one Linear layer and softmax: softmax regression (seed 002)
=================  ====================================================================

The softmax itself is not a layer here: classifiers end in logits and train with the fused
``SoftmaxCrossEntropy``; ``predict`` applies the softmax.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from .layers.activations import ReLU, Sigmoid, Tanh
from .layers.average_pooling import AvgPool2d
from .layers.base import Layer
from .layers.conv import Conv2d
from .layers.linear import Linear
from .layers.pooling import MaxPool2d
from .layers.shape import Flatten
from .model import Sequential
from .random import as_generator

ARCHITECTURES = ("mlp", "cnn", "lenet5", "sigmoid-mlp", "softmax")
ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
DEFAULT_HIDDEN = {"mlp": (256, 128), "cnn": (128,), "lenet5": (120, 84), "sigmoid-mlp": (100,), "softmax": ()}


def build(
    name: str,
    input_shape: Sequence[int],
    outputs: int,
    hidden: Sequence[int] | None = None,
    activation: str | None = None,
    dtype: DTypeLike | None = None,
    rng: int | np.random.Generator | None = None,
) -> Sequential:
    """Build architecture ``name`` for samples of ``input_shape`` and ``outputs`` output units.

    ``input_shape`` excludes the batch axis: ``(C, H, W)`` for images, ``(D,)`` for vectors.
    ``hidden`` overrides the hidden sizes (for ``cnn``, those of the Linear part);
    ``activation`` the hidden activation of ``mlp`` (``relu``, ``sigmoid`` or ``tanh``) and of
    ``lenet5`` (default ``tanh``, LeCun's choice).
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    if activation is not None and activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    hidden = tuple(DEFAULT_HIDDEN[name] if hidden is None else hidden)
    if any(size < 1 for size in hidden):
        raise ValueError(f"hidden sizes must be positive, got {list(hidden)}")
    if name == "softmax" and hidden:
        raise ValueError("the softmax model has no hidden layer; leave out --hidden")
    rng = as_generator(rng)
    input_shape = tuple(int(size) for size in input_shape)
    if name == "cnn":
        return _cnn(input_shape, outputs, hidden, dtype, rng)
    if name == "lenet5":
        return _lenet5(input_shape, outputs, hidden, ACTIVATIONS[activation or "tanh"], dtype, rng)
    default = "sigmoid" if name == "sigmoid-mlp" else "relu"
    act = ACTIVATIONS[activation or default]
    layers: list[Layer] = [Flatten()] if len(input_shape) > 1 else []
    width = math.prod(input_shape)
    for size in hidden:
        layers += [Linear(width, size, dtype=dtype, rng=rng), act()]
        width = size
    layers.append(Linear(width, outputs, dtype=dtype, rng=rng))
    return Sequential(*layers)


def _cnn(
    input_shape: tuple[int, ...],
    outputs: int,
    hidden: tuple[int, ...],
    dtype: DTypeLike | None,
    rng: np.random.Generator,
) -> Sequential:
    if len(input_shape) != 3 or min(input_shape[1:]) < 4:
        raise ValueError(
            f"the cnn model needs images (C, H, W) with H, W >= 4, got samples of shape {input_shape}"
        )
    channels, height, width = input_shape
    layers: list[Layer] = [
        Conv2d(channels, 32, 3, padding=1, dtype=dtype, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Conv2d(32, 64, 3, padding=1, dtype=dtype, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
    ]
    size = 64 * (height // 4) * (width // 4)
    for units in hidden:
        layers += [Linear(size, units, dtype=dtype, rng=rng), ReLU()]
        size = units
    layers.append(Linear(size, outputs, dtype=dtype, rng=rng))
    return Sequential(*layers)


def _lenet5(
    input_shape: tuple[int, ...],
    outputs: int,
    hidden: tuple[int, ...],
    activation: type[Layer],
    dtype: DTypeLike | None,
    rng: np.random.Generator,
) -> Sequential:
    """LeNet-5 for ``(C, H, W)`` images of at least 12x12: 28x28 gives maps 28, 14, 10, 5 and 400 features."""
    if len(input_shape) != 3 or min(input_shape[1:]) < 12:
        raise ValueError(
            f"the lenet5 model needs images (C, H, W) with H, W >= 12, got samples of shape {input_shape}"
        )
    channels, height, width = input_shape
    layers: list[Layer] = [
        Conv2d(channels, 6, 5, padding=2, dtype=dtype, rng=rng),
        activation(),
        AvgPool2d(2),
        Conv2d(6, 16, 5, dtype=dtype, rng=rng),
        activation(),
        AvgPool2d(2),
        Flatten(),
    ]
    size = 16 * ((height // 2 - 4) // 2) * ((width // 2 - 4) // 2)
    for units in hidden:
        layers += [Linear(size, units, dtype=dtype, rng=rng), activation()]
        size = units
    layers.append(Linear(size, outputs, dtype=dtype, rng=rng))
    return Sequential(*layers)
