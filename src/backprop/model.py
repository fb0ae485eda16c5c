"""Sequential: layers applied in order; backward runs the chain rule through them in reverse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .layers.base import Layer
from .layers.conv_relu_pool import ConvReLUPool

if TYPE_CHECKING:
    from .optim import FusedSGDStep


class Sequential(Layer):
    """``y = f_n(... f_1(f_0(x)))``; backward is ``dL/dx = J_0^T (J_1^T (... J_n^T dL/dy))``.

    Each layer's backward receives the gradient its successor returned, which is the chain
    rule of the seeds: ``dL/dx = sum over y a step ahead of x of dL/dy dy/dx``.
    ``params``/``grads`` are flat dicts keyed ``"<index>.<name>"`` (``"0.weight"``), built once
    (and by ``append``) around the layers' own arrays, so an optimiser updating
    ``model.params`` updates the layers. The layers own those arrays: a pickled or copied
    model carries only its layers, and the dicts and ``steps`` are built again from them when
    it is unpickled (joblib, unlike pickle, would otherwise hand back dicts of copies).

    A ``Conv2d, ReLU, MaxPool2d`` run is computed as one block with the bias and the ReLU
    after the pooling (``layers/conv_relu_pool.py``: the same function, on a map 4x smaller).
    Its layers then hold what the block computed, so after ``model(x)`` call
    ``model.backward``: the layers' own ``backward`` refuses, saying so, until their own
    forward runs again.
    """

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        self.layers: tuple[Layer, ...] = ()
        self._steps: tuple[Layer | ConvReLUPool, ...] = ()
        for layer in layers:
            self.append(layer)

    def append(self, layer: Layer) -> Sequential:
        """Add ``layer`` at the end; its arrays join ``params``/``grads`` as ``"<index>.<name>"``.

        ``layers`` is a tuple, so this is the one way to grow a model and the flat dicts stay
        complete. An optimiser keeps the parameters it was made with: make it after the last
        append. Returns the model itself.
        """
        index = len(self.layers)
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential: argument {index} must be a backprop layer, got {type(layer).__name__}"
            )
        self.layers = (*self.layers, layer)
        self._index(index, layer)
        self._steps = _steps(self.layers)
        return self

    def _index(self, index: int, layer: Layer) -> None:
        """Put ``layer``'s own arrays into ``params``/``grads`` as ``"<index>.<name>"``."""
        for name, array in layer.params.items():
            self.params[f"{index}.{name}"] = array
            self.grads[f"{index}.{name}"] = layer.grads[name]

    def __getstate__(self) -> dict[str, Any]:
        """The layers and settings; ``params``, ``grads`` and ``steps`` point into the layers: left out."""
        state = super().__getstate__()
        for name in ("params", "grads", "_steps"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling: the layers come back, then ``params``, ``grads`` and ``steps`` are built from them."""
        self.__dict__.update(state)
        self.params, self.grads = {}, {}
        for index, layer in enumerate(self.layers):
            self._index(index, layer)
        self._steps = _steps(self.layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for step in self._steps:
            x = step(x)
        return x

    def backward(self, gy: np.ndarray) -> np.ndarray:
        for step in reversed(self._steps):
            gy = step.backward(gy)
        return gy

    def backward_params(self, gy: np.ndarray) -> None:
        """Set every parameter gradient without computing ``dL/dx`` of the model's input.

        Layers in front of the first layer with parameters need no backward at all, and that
        layer needs only its parameter gradients: this is what training runs each step.
        """
        steps = self._steps
        first = self._first_with_params()
        for step in reversed(steps[first + 1 :]):
            gy = step.backward(gy)
        if first < len(steps):
            steps[first].backward_params(gy)

    def backward_update(
        self, gy: np.ndarray, step: FusedSGDStep, input_grad: bool = True
    ) -> np.ndarray | None:
        """``backward`` (or ``backward_params`` without ``input_grad``) where each layer may apply ``step``.

        The steps (``steps``: layers and blocks) run in reverse, each handed the same ``step``
        (``Layer.backward_update``); without ``input_grad`` the steps in front of the first one
        with parameters are skipped and that one computes no ``dL/dx``, as in ``backward_params``.
        """
        first = 0 if input_grad else self._first_with_params()
        for index in range(len(self._steps) - 1, first - 1, -1):
            gy = self._steps[index].backward_update(gy, step, input_grad or index > first)
        return gy if input_grad else None

    @property
    def steps(self) -> tuple[Layer | ConvReLUPool, ...]:
        """What ``forward`` runs, in order: the layers, with each ``Conv2d, ReLU, MaxPool2d`` as one block."""
        return self._steps

    def _first_with_params(self) -> int:
        steps = self._steps
        return next((i for i, step in enumerate(steps) if step.params), len(steps))

    def modules(self) -> Iterator[Layer]:
        yield self
        for layer in self.layers:
            yield from layer.modules()

    def config(self) -> dict[str, Any]:
        return {
            "layers": [
                {"type": type(layer).__name__, "config": layer.config()} for layer in self.layers
            ]
        }

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = [f"  ({index}): {layer!r}" for index, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"

    def __str__(self) -> str:
        return "Sequential(" + ", ".join(str(layer) for layer in self.layers) + ")"


def _steps(layers: tuple[Layer, ...]) -> tuple[Layer | ConvReLUPool, ...]:
    """The layers, with each ``Conv2d, ReLU, MaxPool2d`` run replaced by one ``ConvReLUPool``."""
    steps: list[Layer | ConvReLUPool] = []
    index = 0
    while index < len(layers):
        run = layers[index : index + 3]
        if ConvReLUPool.matches(run):
            steps.append(ConvReLUPool(*run))
            index += 3
        else:
            steps.append(layers[index])
            index += 1
    return tuple(steps)
