"""Which units of a network ever fire: a ReLU unit that is never positive on the data is dead.

A unit ``a = relu(z)`` whose ``z <= 0`` for every sample passes no signal forward and, since
``relu'(z) = [z > 0] = 0``, gets no gradient back: ``dL/dW`` of its weights is 0 on every
step, so gradient descent can never revive it. A learning rate too large for the network
(a first step that throws the weights far) is the usual cause. ``dead_units`` finds them in the
first layer with weights, where ``weights.png`` draws each unit's weights.
"""

from __future__ import annotations

import numpy as np

from .layers.activations import ReLU
from .layers.base import Layer
from .layers.conv import Conv2d
from .layers.linear import Linear
from .model import Sequential

__all__ = ["dead_units"]


def dead_units(model: Layer, x: np.ndarray, batch_size: int = 500) -> np.ndarray | None:
    """A boolean mask over the first Linear's units (or Conv2d's output channels): True where ``z <= 0``
    for every sample of ``x`` (and, for a convolution, at every position).

    ``x`` is a batch as the model takes it. Returns None when the first layer with weights is
    not followed by a ``ReLU`` (a sigmoid or tanh unit is never "dead" in this sense). The
    layers run one by one in ``eval()`` mode, ``batch_size`` samples at a time.
    """
    layers = _flat(model)
    first = next((i for i, layer in enumerate(layers) if isinstance(layer, (Linear, Conv2d))), None)
    if first is None or first + 1 >= len(layers) or not isinstance(layers[first + 1], ReLU):
        return None
    was_training = model.training
    model.eval()
    try:
        fired: np.ndarray | None = None
        for start in range(0, len(x), batch_size):
            z = x[start : start + batch_size]
            for layer in layers[: first + 1]:
                z = layer(z)
            channel_axis = 1
            largest = z.max(axis=tuple(axis for axis in range(z.ndim) if axis != channel_axis))
            fired = largest > 0 if fired is None else fired | (largest > 0)
    finally:
        model.train(was_training)
    assert fired is not None, "dead_units needs at least one sample"
    return ~fired


def _flat(model: Layer) -> list[Layer]:
    if isinstance(model, Sequential):
        return [inner for layer in model.layers for inner in _flat(layer)]
    return [model]
