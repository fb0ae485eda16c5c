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

    **Prepared passes.** The first forward with a given input shape and dtype runs every
    layer's checked ``forward``; once it has succeeded, later forwards of that shape skip the
    per-layer checks and let the layers reuse their buffers and work in place
    (``_prepared_forward``, see ``layers/base.py``), and so do the backwards that follow. The
    maths is the same operation for operation, so both give bit-identical results. What the
    model returns is always a fresh array: ``a = model(x1); b = model(x2)`` leaves ``a`` as it was.
    """

    # What the checked forward has accepted: (input shape, dtype, the layers), and the shape of
    # the output it gave; the prepared backward needs a gradient of that shape. Class-level
    # defaults, so a subclass that does not call this __init__ still starts unprepared.
    _checked: tuple[Any, ...] | None = None
    _out_shape: tuple[int, ...] | None = None

    def __init__(self, *layers: Layer) -> None:
        self.training = True
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential: argument {index} must be a backprop layer, got {type(layer).__name__}"
                )
        self.layers = list(layers)

    def _is_checked(self, x: np.ndarray) -> bool:
        checked = self._checked
        return (
            checked is not None
            and type(x) is np.ndarray
            and x.shape == checked[0]
            and x.dtype == checked[1]
            and len(checked[2]) == len(self.layers)
            and all(a is b for a, b in zip(checked[2], self.layers))
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self._is_checked(x):
            last = len(self.layers) - 1
            owned = False  # the caller's x is never overwritten
            for index, layer in enumerate(self.layers):
                x, owned = layer._prepared_forward(x, owned, reuse=index < last)
            return x
        given = x
        self._checked = None
        for layer in self.layers:
            x = layer(x)
        if isinstance(given, np.ndarray) and isinstance(x, np.ndarray):
            self._checked = (given.shape, given.dtype, tuple(self.layers))
            self._out_shape = x.shape
        return x

    def _prepared(self, gy: np.ndarray) -> bool:
        """Whether the backward of ``gy`` may run prepared: the last forward was checked, ``gy`` fits it."""
        return self._checked is not None and type(gy) is np.ndarray and gy.shape == self._out_shape

    def backward(self, gy: np.ndarray) -> np.ndarray:
        if self._prepared(gy):
            owned = False  # the caller's gradient is never overwritten
            for index in range(len(self.layers) - 1, -1, -1):
                gy, owned = self.layers[index]._prepared_backward(gy, owned, reuse=index > 0)
            return gy
        for layer in reversed(self.layers):
            gy = layer.backward(gy)
        return gy

    def backward_params(self, gy: np.ndarray) -> None:
        """Set every parameter gradient without computing ``dL/dx`` of the model's input.

        Layers in front of the first layer with parameters need no backward at all, and that
        layer needs only its parameter gradients: this is what training runs each step.
        """
        first = next((i for i, layer in enumerate(self.layers) if layer.params), len(self.layers))
        if self._prepared(gy):
            owned = False
            for layer in reversed(self.layers[first + 1 :]):
                gy, owned = layer._prepared_backward(gy, owned, reuse=True)
            if first < len(self.layers):
                self.layers[first]._prepared_backward_params(gy)
            return
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
