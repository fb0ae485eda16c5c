"""Sequential: layers applied in order; backward runs the chain rule through them in reverse."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .layers.base import Layer, backward_of
from .layers.conv_relu_pool import ConvReLUPool
from .summary import Summary, summarize

#: Where a gradient is found: the dict that holds it and its key there (``Layer.grad_slots``).
Slot = tuple[dict[str, np.ndarray | None], str]


class Sequential(Layer):
    """``y = f_n(... f_1(f_0(x)))``; backward is ``dL/dx = J_0^T (J_1^T (... J_n^T dL/dy))``.

    Each layer's backward receives the gradient its successor returned, which is the chain
    rule of the seeds: ``dL/dx = sum over y a step ahead of x of dL/dy dy/dx``.
    ``params`` is a flat dict keyed ``"<index>.<name>"`` (``"0.weight"``), built once (and by
    ``append``) around the layers' own arrays, so an optimiser updating ``model.params`` updates
    the layers; ``grads`` (``Gradients``) reads the layers' gradients under the same keys. The
    layers own those arrays: a pickled or copied model carries only its layers, and the dicts
    and ``steps`` are built again from them when it is unpickled (joblib, unlike pickle, would
    otherwise hand back dicts of copies).

    A ``Conv2d, ReLU, MaxPool2d`` run is computed as one block with the bias and the ReLU
    after the pooling (``layers/conv_relu_pool.py``: the same function, on a map 4x smaller),
    so after ``model(x)`` call ``model.backward``: the three layers' own ``backward`` refuses,
    saying so, until their own forward runs again.
    """

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        self.layers: tuple[Layer, ...] = ()
        self._slots: dict[str, Slot] = {}
        # A read-only view where a leaf layer's grads is its own dict (Residual's too).
        self.grads = Gradients(self._slots)  # type: ignore[assignment]
        self._steps: tuple[Layer | ConvReLUPool, ...] = ()
        self.last_input_shape: tuple[int, ...] | None = None  # of one sample, for summary()
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
        index_arrays(str(index), layer, self.params, self.buffers, self._slots)

    def grad_slots(self) -> dict[str, Slot]:
        return dict(self._slots)

    def __getstate__(self) -> dict[str, Any]:
        """The layers, the steps (a block keeps a forward's state for its backward) and settings;
        ``params`` and ``grads`` point into the layers: left out."""
        return without_indexes(super().__getstate__())

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling: the layers and steps come back, then ``params`` and ``grads`` are built from them."""
        self.__dict__.update(state)
        self.params, self.buffers, self._slots = {}, {}, {}
        self.grads = Gradients(self._slots)  # type: ignore[assignment]  # a view, as in __init__
        for index, layer in enumerate(self.layers):
            self._index(index, layer)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.last_input_shape = tuple(x.shape[1:])
        for step in self._steps:
            x = step(x)
        return x

    def summary(self, input_shape: tuple[int, ...] | None = None) -> Summary:
        """The table of the layers: each one's output shape for samples of ``input_shape`` (run on a
        copy), parameters, dtype and memory layout; the total parameters and their bytes.

        ``print(model.summary(input_shape=(1, 28, 28)))`` in a terminal; in a notebook it shows as
        an HTML table. Without ``input_shape``, the shapes of the last batch the model saw, if any.
        """
        shape = getattr(self, "last_input_shape", None) if input_shape is None else input_shape
        return summarize(self, shape, "Sequential")

    def _repr_html_(self) -> str:
        return self.summary().html()

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """The chain rule through the steps in reverse; every parameter gradient set.

        Without ``input_grad`` (what training runs) the steps in front of the first one with
        parameters need no backward at all, and that one computes no ``dL/dx``: nobody needs the
        gradient with respect to the data.
        """
        steps = self._steps
        first = 0 if input_grad else self._first_with_params()
        for index in range(len(steps) - 1, first, -1):
            gx = steps[index].backward(gy)
            assert gx is not None  # a backward with input_grad returns dL/dx
            gy = gx
        gx = backward_of(steps[first], gy, input_grad) if first < len(steps) else gy
        return gx if input_grad else None

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


def without_indexes(state: dict[str, Any]) -> dict[str, Any]:
    """A container's pickled state without the dicts ``index_arrays`` builds (they point into the
    layers, so unpickling builds them again rather than restore copies)."""
    for name in ("params", "buffers", "grads", "_slots"):
        state.pop(name, None)
    return state


def index_arrays(
    prefix: str,
    layer: Layer,
    params: dict[str, np.ndarray],
    buffers: dict[str, np.ndarray],
    slots: dict[str, Slot],
) -> None:
    """Put ``layer``'s parameters and buffers into a container's flat ``params`` and ``buffers``,
    and where its gradients are into its ``slots``, each under ``"<prefix>.<name>"``.

    The entries are the layer's own arrays (and slots), not copies: the container only points at
    them, and builds them again when it is unpickled (``Sequential``, ``Residual``).
    """
    for name, array in layer.params.items():
        params[f"{prefix}.{name}"] = array
    for name, array in getattr(layer, "buffers", {}).items():
        buffers[f"{prefix}.{name}"] = array
    for name, slot in layer.grad_slots().items():
        slots[f"{prefix}.{name}"] = slot


class Gradients(Mapping[str, "np.ndarray | None"]):
    """``Sequential.grads``: ``"<index>.<name>"`` -> the layer's ``grads[name]``, read through at each access.

    A live view, not a copy, so it shows what the layers' last backward set: an array, or None
    where an optimiser's hook applied the update inside the gradient's product (``Layer``).
    """

    def __init__(self, slots: dict[str, Slot]) -> None:
        self._slots = slots

    def __getitem__(self, key: str) -> np.ndarray | None:
        owner, name = self._slots[key]
        return owner[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return repr(dict(self))
