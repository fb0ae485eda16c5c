"""The seeds' networks, by name, for the command line and the examples.

=================  ====================================================================
``mlp``            ``softmax(W2 ReLU(W1 ReLU(W0 x)))`` (seed 003): hidden sizes and activation
                   configurable; Linear layers with biases
``cnn``            Conv2d(3x3) - ReLU - MaxPool2d(2) - Conv2d(3x3) - ReLU - MaxPool2d(2) -
                   Linear - ReLU - Linear (seed 003's "with convolutions")
``lenet5``         LeCun et al.'s 1998 network for 28x28 digits: Conv2d(5x5, 6, padding 2) - tanh -
                   AvgPool2d(2) - Conv2d(5x5, 16) - tanh - AvgPool2d(2) - Linear 120 - tanh -
                   Linear 84 - tanh - Linear (the subsampling layers as plain averages)
``resnet``         a small residual network: Conv2d(3x3) - BatchNorm2d - ReLU, then three stages
                   of two residual blocks (16, 32, 64 channels; the second and third halve the
                   map), GlobalAvgPool2d, Linear; each block Conv-BN-ReLU-Conv-BN plus its input
                   (a 1x1 Conv-BN projection where the shape changes), then ReLU
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
from .layers.average_pooling import AvgPool2d, GlobalAvgPool2d
from .layers.base import Layer
from .layers.batch_norm import BatchNorm2d
from .layers.conv import Conv2d
from .layers.linear import Linear
from .layers.pooling import MaxPool2d
from .layers.shape import Flatten
from .model import Sequential
from .random import as_generator
from .residual import Residual

ARCHITECTURES = ("mlp", "cnn", "lenet5", "resnet", "sigmoid-mlp", "softmax")
ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
DEFAULT_HIDDEN = {
    "mlp": (256, 128), "cnn": (128,), "lenet5": (120, 84), "resnet": (16, 32, 64), "sigmoid-mlp": (100,),
    "softmax": (),
}


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
    ``hidden`` overrides the hidden sizes (for ``cnn``, those of the Linear part; for ``resnet``,
    the channels of its stages);
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
    if name == "resnet":
        return _resnet(input_shape, outputs, hidden, dtype, rng)
    default = "sigmoid" if name == "sigmoid-mlp" else "relu"
    act = ACTIVATIONS[activation or default]
    layers: list[Layer] = [Flatten()] if len(input_shape) > 1 else []
    return Sequential(*layers, *_dense(math.prod(input_shape), hidden, outputs, act, dtype, rng))


def _dense(
    size: int,
    hidden: tuple[int, ...],
    outputs: int,
    activation: type[Layer],
    dtype: DTypeLike | None,
    rng: np.random.Generator,
) -> list[Layer]:
    """Linear layers from ``size`` features through ``hidden`` (each then ``activation``) to ``outputs``."""
    layers: list[Layer] = []
    for units in hidden:
        layers += [Linear(size, units, dtype=dtype, rng=rng), activation()]
        size = units
    return [*layers, Linear(size, outputs, dtype=dtype, rng=rng)]


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
    return Sequential(*layers, *_dense(size, hidden, outputs, ReLU, dtype, rng))


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
    return Sequential(*layers, *_dense(size, hidden, outputs, activation, dtype, rng))


def _residual_block(
    channels_in: int, channels: int, stride: int, dtype: DTypeLike | None, rng: np.random.Generator
) -> list[Layer]:
    """Conv-BN-ReLU-Conv-BN plus the input (or its 1x1 Conv-BN projection), then ReLU.

    The convolutions have no bias: the BatchNorm after each one subtracts any constant.
    """
    block = Sequential(
        Conv2d(channels_in, channels, 3, stride=stride, padding=1, bias=False, dtype=dtype, rng=rng),
        BatchNorm2d(channels, dtype=dtype),
        ReLU(),
        Conv2d(channels, channels, 3, padding=1, bias=False, dtype=dtype, rng=rng),
        BatchNorm2d(channels, dtype=dtype),
    )
    shortcut = None
    if stride != 1 or channels_in != channels:
        shortcut = Sequential(
            Conv2d(channels_in, channels, 1, stride=stride, bias=False, dtype=dtype, rng=rng),
            BatchNorm2d(channels, dtype=dtype),
        )
    return [Residual(block, shortcut), ReLU()]


def _resnet(
    input_shape: tuple[int, ...],
    outputs: int,
    widths: tuple[int, ...],
    dtype: DTypeLike | None,
    rng: np.random.Generator,
) -> Sequential:
    """The stem, two residual blocks per width (each stage after the first halves the map), the head."""
    if len(input_shape) != 3 or not widths:
        raise ValueError(
            f"the resnet model needs images (C, H, W) and at least one stage width, got samples of shape"
            f" {input_shape} and widths {list(widths)}"
        )
    channels = widths[0]
    layers: list[Layer] = [
        Conv2d(input_shape[0], channels, 3, padding=1, bias=False, dtype=dtype, rng=rng),
        BatchNorm2d(channels, dtype=dtype),
        ReLU(),
    ]
    for stage, width in enumerate(widths):
        layers += _residual_block(channels, width, 1 if stage == 0 else 2, dtype, rng)
        layers += _residual_block(width, width, 1, dtype, rng)
        channels = width
    layers += [GlobalAvgPool2d(), Linear(channels, outputs, dtype=dtype, rng=rng)]
    return Sequential(*layers)
