"""Sequential: layers applied in order; backward runs the chain rule through them in reverse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .layers.base import Layer


class Sequential(Layer):
    """``y = f_n(... f_1(f_0(x)))``; backward is ``dL/dx = J_0^T (J_1^T (... J_n^T dL/dy))``.

    Each layer's backward receives the gradient its successor returned, which is the chain
    rule of the seeds: ``dL/dx = sum over y a step ahead of x of dL/dy dy/dx``.
    ``params``/``grads`` are flat dicts keyed ``"<index>.<name>"`` (``"0.weight"``), holding the
    layers' own arrays, so an optimiser updating ``model.params`` updates the layers.
    """

    def __init__(self, *layers: Layer) -> None:
        self.training = True
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential: argument {index} must be a backprop layer, got {type(layer).__name__}"
                )
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, gy: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            gy = layer.backward(gy)
        return gy

    def backward_params(self, gy: np.ndarray) -> None:
        """Set every parameter gradient without computing ``dL/dx`` of the model's input.

        Layers in front of the first layer with parameters need no backward at all, and that
        layer needs only its parameter gradients: this is what training runs each step.
        """
        first = next((i for i, layer in enumerate(self.layers) if layer.params), len(self.layers))
        for layer in reversed(self.layers[first + 1 :]):
            gy = layer.backward(gy)
        if first < len(self.layers):
            self.layers[first].backward_params(gy)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self._flatten("params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self._flatten("grads")

    def _flatten(self, attribute: str) -> dict[str, np.ndarray]:
        return {
            f"{index}.{name}": array
            for index, layer in enumerate(self.layers)
            for name, array in getattr(layer, attribute).items()
        }

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
