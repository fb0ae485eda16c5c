"""The trace of one training step: run it with the library's own components, keep every array.

``trace_step`` runs forward through each layer, ``L = loss(outputs, t)``, backward through each
layer in reverse, central finite differences for every parameter (``check.py``'s helpers) and
plain SGD ``w <- w - eta dL/dw``, and returns a ``StepTrace``. Nothing here re-derives a
gradient: the numbers are what the layers' own ``forward``/``backward`` and ``SGD`` produce,
kept as they pass. Each array is named in the seeds' notation: ``a_0 = x``, ``z_l`` the output
of the l-th layer with weights, ``a_l`` its activation, ``m_l``/``f_l``/``d_l`` the outputs of
pooling, flattening and dropout after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..check import central_difference, random_direction, random_rewind, relative_error
from ..layers.activations import Activation
from ..layers.average_pooling import AvgPool2d, GlobalAvgPool2d
from ..layers.base import Layer
from ..layers.conv import Conv2d
from ..layers.dropout import Dropout
from ..layers.linear import Linear
from ..layers.pooling import MaxPool2d
from ..layers.shape import Flatten
from ..losses import Loss
from ..model import Sequential
from ..optim import SGD

__all__ = ["LayerRecord", "Probe", "StepTrace", "trace_step"]

# Layers without parameters that keep the seeds' layer number l: the letter of their output.
_SHAPE_LAYERS: dict[type, tuple[str, str]] = {
    MaxPool2d: ("m", "maxpool"),
    AvgPool2d: ("m", "avgpool"),
    GlobalAvgPool2d: ("g", "globalavgpool"),
    Flatten: ("f", "flatten"),
    Dropout: ("d", "dropout"),
}


@dataclass
class LayerRecord:
    """One layer of the traced step: its input and output, and the gradients that passed it.

    ``name`` is the output's symbol (``z_2``, ``a_1``, ``m_1``), ``input_name`` the input's;
    ``symbols`` maps each parameter name to its symbol (``"weight"`` -> ``"W_2"``).
    ``gy = dL/d(output)``, ``gx = dL/d(input)``, ``grads`` what backward set.
    ``derivative`` is ``sigma'(z_l)`` for an elementwise activation, else None.
    """

    index: int
    layer: Layer
    name: str
    input_name: str
    formula: str
    symbols: dict[str, str]
    x: np.ndarray
    y: np.ndarray
    gy: np.ndarray | None = None
    gx: np.ndarray | None = None
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    derivative: np.ndarray | None = None


@dataclass
class Probe:
    """One finite-difference probe of a parameter: an element, or a random unit direction."""

    symbol: str
    where: str
    analytic: float
    numeric: float

    @property
    def absolute_error(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def relative_error(self) -> float:
        return relative_error(self.analytic, self.numeric)


@dataclass
class StepTrace:
    """Everything one step computed; ``before``/``after`` are keyed by parameter symbol."""

    records: list[LayerRecord]
    loss: Loss
    x: np.ndarray
    targets: np.ndarray
    value: float
    output_grad: np.ndarray
    probes: list[Probe]
    eps: float
    lr: float
    before: dict[str, np.ndarray]
    gradients: dict[str, np.ndarray]
    after: dict[str, np.ndarray]
    value_after: float
    applied: bool


def _is_elementwise(layer: Layer) -> bool:
    """An activation whose Jacobian is diagonal, so that ``sigma'`` is one array (not Softmax)."""
    return isinstance(layer, Activation) and layer.derivative is not None


def trace_step(
    model: Layer,
    loss: Loss,
    x: np.ndarray,
    t: np.ndarray,
    lr: float = 0.1,
    apply: bool = True,
    fd_elements: int = 12,
    directions: int = 3,
    seed: int = 0,
) -> StepTrace:
    """Run one step of ``w <- w - eta dL/dw`` on ``(x, t)`` and keep every intermediate array.

    Parameters
    ----------
    model : a ``Sequential`` (its layers are walked one by one) or a single layer.
    loss : a ``bp`` loss; ``L = loss(model(x), t)``.
    x, t : the batch, as ``fit`` takes it; ``x`` is converted to the model's dtype.
    lr : the learning rate ``eta`` of the plain SGD step.
    apply : keep the updated parameters in the model (True, the default: this *is* a
        training step) or put the old ones back (False).
    fd_elements : parameters with at most this many entries are checked element by
        element; larger ones along ``directions`` random unit directions.
    seed : seeds those directions.
    """
    layers = list(model.layers) if isinstance(model, Sequential) else [model]
    if not any(layer.params for layer in layers):
        raise ValueError(f"explain: {model} has no parameters, so a training step changes nothing")
    dtype = next(array.dtype for layer in layers for array in layer.params.values())
    x = np.asarray(x)
    if x.dtype != dtype:
        x = x.astype(dtype)
    t = np.asarray(t)
    if np.issubdtype(t.dtype, np.floating):
        t = t.astype(dtype, copy=False)

    rewind = random_rewind(model)  # the finite differences must see Dropout's masks of this step

    def loss_now() -> float:
        rewind()
        return loss(model(x), t)

    records = _forward(layers, x)
    value = loss(records[-1].y, t) + 0.0  # + 0.0 turns a -0.0 into 0.0 for display
    output_grad = loss.backward().copy()
    gy = output_grad
    for record in reversed(records):
        record.gy = gy
        gx = record.layer.backward(gy)
        assert gx is not None  # a backward with input_grad returns dL/dx
        record.grads = {}
        for name, g in record.layer.grads.items():
            assert g is not None  # only fit installs the hooks that leave a gradient None
            record.grads[name] = g.copy()
        if _is_elementwise(record.layer):
            # The Jacobian is diagonal, so backward applied to ones is sigma'(z) itself.
            record.derivative = record.layer.backward(np.ones_like(record.y))
        record.gx = gx.copy()
        gy = record.gx

    eps = 1e-6 if dtype == np.float64 else 1e-3
    rng = np.random.default_rng(seed)
    probes = []
    before, gradients = {}, {}
    for record in records:
        for name, array in record.layer.params.items():
            symbol = record.symbols[name]
            before[symbol] = array.copy()
            gradients[symbol] = record.grads[name]
            probes += _probe(symbol, array, record.grads[name], loss_now, eps, fd_elements, directions, rng)

    # The layers' grads are still those of the real backward: the probes ran forward passes only.
    SGD(model, lr).step()
    after = {
        record.symbols[name]: array.copy()
        for record in records
        for name, array in record.layer.params.items()
    }
    value_after = loss_now() + 0.0
    if not apply:
        for record in records:
            for name, array in record.layer.params.items():
                np.copyto(array, before[record.symbols[name]])
    return StepTrace(
        records, loss, x, t, value, output_grad, probes, eps, float(lr), before, gradients, after,
        value_after, bool(apply),
    )


def _forward(layers: list[Layer], x: np.ndarray) -> list[LayerRecord]:
    """Run the layers in order, naming each output in the seeds' notation."""
    records = []
    k, current, used = 0, "a_0", {"a_0"}  # k: the seeds' layer number l, counted by weights
    a = x
    for index, layer in enumerate(layers):
        kind = type(layer)
        symbols: dict[str, str] = {}
        if layer.params:
            k += 1
            name = f"z_{k}"
            letters = {"weight": f"W_{k}", "bias": f"b_{k}"}
            symbols = {key: letters.get(key, f"{key}_{k}") for key in layer.params}
            bias = f" + b_{k}" if "bias" in layer.params else ""
            if isinstance(layer, Linear):
                formula = f"{name} = {current} W_{k}^T{bias}"
            elif isinstance(layer, Conv2d):
                formula = f"{name} = conv(W_{k}, {current}){bias}"
            else:
                formula = f"{name} = {kind.__name__}({current})"
        elif isinstance(layer, Activation) and current == f"z_{k}":
            name = f"a_{k}"
            formula = f"{name} = {layer.function}({current})"
        else:
            letter, function = _SHAPE_LAYERS.get(kind, ("h", kind.__name__))
            name = f"{letter}_{k}" if kind in _SHAPE_LAYERS else f"h_{index}"
            formula = f"{name} = {function}({current})"
        while name in used:  # two shape layers in a row: m_1, m_1', ...
            formula = formula.replace(f"{name} =", f"{name}' =", 1)
            name += "'"
        used.add(name)
        y = layer(a)
        records.append(LayerRecord(index, layer, name, current, formula, symbols, a.copy(), y.copy()))
        a, current = y, name
    return records


def _probe(
    symbol: str,
    array: np.ndarray,
    grad: np.ndarray,
    loss_now: Callable[[], float],
    eps: float,
    fd_elements: int,
    directions: int,
    rng: np.random.Generator,
) -> list[Probe]:
    """Finite differences of the loss along ``v`` against the analytic ``<dL/dw, v>``.

    ``v`` is each basis vector for a parameter of at most ``fd_elements`` entries, else one of
    ``directions`` random unit directions; ``central_difference`` restores the parameter.
    """
    cases = []
    if array.size <= fd_elements:
        for index in np.ndindex(array.shape):
            v = np.zeros(array.shape)
            v[index] = 1
            cases.append((str(index) if array.ndim > 1 else f"({index[0]})", v))
    else:
        for k in range(directions):
            cases.append((f"direction v_{k + 1}", random_direction(rng, array.shape)))
    return [
        Probe(symbol, where, float(np.sum(grad * v)), central_difference(loss_now, array, v, eps))
        for where, v in cases
    ]
