"""One training step with every number shown: forward, loss, backward, gradient check, update.

``explain(model, loss, x, t)`` runs ONE real step of gradient descent on the batch ``(x, t)``
with the library's own components and returns a document (plain text or Markdown) that shows,
in the seeds' notation:

- the forward pass, layer by layer: ``a_0 = x``, ``z_l = W_l a_{l-1} + b_l`` (per row:
  ``a_{l-1} W_l^T + b_l``), ``a_l = sigma(z_l)``, with every array and its shape;
- the loss ``L`` and where the backward pass starts: ``dL/dz_L = (p - t) / N`` for the fused
  softmax + cross-entropy (seeds 002, 003), ``Delta = -2 (t - O) / N`` for the squared error
  (seed 001);
- the backward pass in reverse: ``delta_l = dL/dz_l`` for every layer, the Hadamard product
  ``delta_l = (W_{l+1}^T delta_{l+1}) * sigma'(z_l)`` of seed 000 with its three factors,
  ``dL/dW_l = delta_l a_{l-1}^T`` and ``dL/db_l = delta_l`` (summed over the batch);
- for each parameter, central finite differences beside the analytic gradient;
- the update ``W <- W - eta dL/dW`` and the loss on the same batch after it.

``trace_step`` does the computation and returns every array (a ``StepTrace``); ``explain``
renders it. Nothing here re-derives a gradient: the numbers are what the layers' own
``forward``/``backward`` and ``SGD`` produce, kept as they pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .layers.activations import ReLU, Sigmoid, Softmax, Tanh, softmax_forward
from .layers.base import Layer
from .layers.conv import Conv2d
from .layers.dropout import Dropout
from .layers.linear import Linear
from .layers.pooling import MaxPool2d
from .layers.shape import Flatten
from .losses import CrossEntropy, Loss, MSELoss, SoftmaxCrossEntropy
from .model import Sequential
from .optim import SGD

__all__ = ["LayerRecord", "Probe", "StepTrace", "explain", "trace_step"]

# Elementwise activations: name in formulas, and sigma' written from the output a_l.
_ELEMENTWISE: dict[type, tuple[str, str]] = {
    Sigmoid: ("sigmoid", "a_{l} (1 - a_{l})"),
    ReLU: ("ReLU", "[z_{l} > 0]"),
    Tanh: ("tanh", "1 - a_{l}^2"),
}
_SHAPE_LAYERS: dict[type, tuple[str, str]] = {
    MaxPool2d: ("m", "maxpool"),
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
        scale = max(abs(self.analytic), abs(self.numeric))
        return self.absolute_error / scale if scale > 0 else 0.0


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

    # Dropout draws a mask per forward pass; the finite differences must see the same masks.
    generators = [
        (layer.rng, layer.rng.bit_generator.state)
        for layer in model.modules()
        if isinstance(getattr(layer, "rng", None), np.random.Generator)
    ]

    def loss_now() -> float:
        for generator, state in generators:
            generator.bit_generator.state = state
        return loss(model(x), t)

    records = _forward(layers, x)
    value = loss(records[-1].y, t) + 0.0  # + 0.0 turns a -0.0 into 0.0 for display
    output_grad = loss.backward().copy()
    gy = output_grad
    for record in reversed(records):
        record.gy = gy
        gx = record.layer.backward(gy)
        record.grads = {name: g.copy() for name, g in record.layer.grads.items()}
        if type(record.layer) in _ELEMENTWISE:
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
        elif (kind in _ELEMENTWISE or kind is Softmax) and current == f"z_{k}":
            name = f"a_{k}"
            function = "softmax" if kind is Softmax else _ELEMENTWISE[kind][0]
            formula = f"{name} = {function}({current})"
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
    """Central differences ``(L(w + h v) - L(w - h v)) / 2h`` against ``<dL/dw, v>``.

    ``v`` is each basis vector for a small parameter, else a random unit direction; the
    parameter is restored exactly afterwards.
    """
    original = array.copy()
    cases = []
    if array.size <= fd_elements:
        for index in np.ndindex(array.shape):
            v = np.zeros(array.shape)
            v[index] = 1
            cases.append((str(index) if array.ndim > 1 else f"({index[0]})", v))
    else:
        for k in range(directions):
            v = rng.standard_normal(array.shape)
            cases.append((f"direction v_{k + 1}", v / np.linalg.norm(v)))
    probes = []
    try:
        for where, v in cases:
            values = []
            for sign in (1.0, -1.0):
                np.copyto(array, original + sign * eps * v, casting="unsafe")
                values.append(loss_now())
            numeric = (values[0] - values[1]) / (2 * eps)
            probes.append(Probe(symbol, where, float(np.sum(grad * v)), numeric))
    finally:
        np.copyto(array, original)
    return probes


# --- the document -------------------------------------------------------------------------
# A document is a list of blocks; both renderers walk the same list, so the text and the
# Markdown versions cannot drift apart. Formulas are written between backticks: Markdown keeps
# them as code (so `*` and `_` stay literal), plain text drops the backticks.


@dataclass
class _Heading:
    text: str
    level: int = 1


@dataclass
class _Para:
    text: str


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]
    align: str = ""  # one letter per column, "l" or "r"; left by default


@dataclass
class _Array:
    label: str
    value: np.ndarray


_Block = _Heading | _Para | _Table | _Array


def explain(
    model: Layer,
    loss: Loss,
    x: np.ndarray,
    t: np.ndarray,
    lr: float = 0.1,
    format: str = "text",
    max_elements: int = 64,
    precision: int = 6,
    apply: bool = True,
    fd_elements: int = 12,
    seed: int = 0,
) -> str:
    """Run one training step on ``(x, t)`` and return a document showing every number of it.

    The step is real: forward through each layer, ``L = loss(outputs, t)``, backward through
    each layer in reverse, and plain SGD ``w <- w - eta dL/dw`` with ``eta = lr``. With
    ``apply=True`` (the default) the model keeps the updated parameters, as after any training
    step; ``apply=False`` puts the old ones back.

    Parameters
    ----------
    model : a ``Sequential`` or a single layer.
    loss : the loss; the fused ``SoftmaxCrossEntropy`` shows ``dL/dz = (p - t) / N``.
    x, t : a small batch (a few samples: every array of it is printed).
    lr : the learning rate ``eta``.
    format : ``"text"`` (aligned, for a terminal) or ``"markdown"`` (a handout).
    max_elements : arrays with more entries are shown as shape, norm and first values.
    precision : digits after the decimal point.
    fd_elements : parameters up to this size are checked by finite differences element by
        element, larger ones along three random unit directions (seeded by ``seed``).

    Use float64 parameters for a meaningful check: in float32 the finite differences agree
    to about 1e-3 only, and the document says so.
    """
    if format not in ("text", "markdown"):
        raise ValueError(f"explain: format must be 'text' or 'markdown', got {format!r}")
    if not isinstance(max_elements, int) or max_elements < 1:
        raise ValueError(f"explain: max_elements must be a positive integer, got {max_elements!r}")
    trace = trace_step(model, loss, x, t, lr=lr, apply=apply, fd_elements=fd_elements, seed=seed)
    blocks = _document(trace, model)
    if format == "markdown":
        return _markdown(blocks, max_elements, precision)
    return _text(blocks, max_elements, precision)


def _document(trace: StepTrace, model: Layer) -> list[_Block]:
    records = trace.records
    n = len(trace.x)
    dtype = records[0].x.dtype
    blocks: list[_Block] = [
        _Heading("One training step, every number", 0),
        _Para(
            f"Model {model}; loss {trace.loss!r}; a batch of N = {n}; learning rate `eta = {trace.lr:g}`;"
            f" {dtype}."
            " Rows are samples, so the seeds' `z = W a + b` for one column vector reads"
            " `z = a W^T + b` for the batch; `delta_l = dL/dz_l`."
        ),
        _Para(
            "The step was applied: the model now holds the updated parameters."
            if trace.applied
            else "The step was not applied: the model holds its parameters from before the step."
        ),
    ]
    blocks += _forward_section(trace)
    blocks += _loss_section(trace)
    blocks += _backward_section(trace)
    blocks += _check_section(trace, dtype)
    blocks += _update_section(trace)
    return blocks


def _forward_section(trace: StepTrace) -> list[_Block]:
    rows = [[str(r.index), str(r.layer), f"`{r.formula}`", _shape(r.y.shape)] for r in trace.records]
    blocks: list[_Block] = [
        _Heading("1. Forward pass"),
        _Table(["layer", "component", "computes", "output shape"], rows),
        _Array("a_0 = x", trace.x),
    ]
    for record in trace.records:
        for symbol in record.symbols.values():
            blocks.append(_Array(symbol, trace.before[symbol]))
        blocks.append(_Array(record.name, record.y))
    return blocks


def _one_hot(trace: StepTrace) -> np.ndarray | None:
    """The targets as a distribution per row, for classification losses; None otherwise."""
    output = trace.records[-1].y
    t = trace.targets
    if not isinstance(trace.loss, (SoftmaxCrossEntropy, CrossEntropy)) or output.ndim != 2:
        return None
    if t.ndim == 1:
        one_hot = np.zeros_like(output)
        one_hot[np.arange(len(t)), t] = 1
        return one_hot
    return t


def _loss_section(trace: StepTrace) -> list[_Block]:
    loss, output = trace.loss, trace.records[-1]
    out, n = output.name, len(trace.x)
    mean = loss.reduction == "mean"
    blocks: list[_Block] = [_Heading("2. Loss")]
    t = _one_hot(trace)
    if isinstance(loss, SoftmaxCrossEntropy):
        p = softmax_forward(output.y)
        average = "(1/N) " if mean else ""
        blocks += [
            _Para(f"The fused softmax + cross-entropy on the logits `{out}`."),
            _Array(f"p = softmax({out})", p),
            _Array("t (one-hot)" if trace.targets.ndim == 1 else "t", t),
            _Para(f"`L = -{average}sum_n sum_j t_nj ln p_nj = {trace.value:.10g}`"),
        ]
        expected = (p - t) / (n if mean else 1)
        formula = f"{_gradient_name(out)} = (p - t){' / N' if mean else ''}"
        note = "the seeds' `y - t`: softmax's Jacobian times `-t / p` collapses to it (seeds 002, 003)"
    elif isinstance(loss, MSELoss):
        m = output.y.size
        blocks += [
            _Para(f"Squared error on the outputs `O = {out}`."),
            _Array("t (targets)", trace.targets),
            _Para(
                f"`L = {'(1/M) ' if mean else ''}sum_i (O_i - t_i)^2 = {trace.value:.10g}`"
                + (f", `M = {m}` outputs in all" if mean else "")
            ),
        ]
        expected = -2 * (trace.targets - output.y) / (m if mean else 1)
        formula = f"Delta = {_gradient_name(out)} = -2 (t - O){' / M' if mean else ''}"
        note = "seed 001's `Delta = -2 (y - O)`" + (", divided by M for the mean" if mean else "")
    else:
        if t is not None:
            blocks.append(_Array("t (one-hot)", t))
        else:
            blocks.append(_Array("t (targets)", trace.targets))
        blocks.append(_Para(f"`L = {trace.value:.10g}`"))
        expected, formula, note = None, f"dL/d{out} = {type(loss).__name__}.backward()", ""
    blocks.append(_Para(f"The backward pass starts here: `{formula}`" + (f", {note}." if note else ".")))
    blocks.append(_Array(f"dL/d{out}", trace.output_grad))
    if expected is not None:
        blocks.append(_Para(_agreement(f"{type(loss).__name__}.backward()", trace.output_grad, expected)))
    return blocks


def _agreement(what: str, got: np.ndarray, expected: np.ndarray) -> str:
    difference = float(np.max(np.abs(got - expected))) if got.size else 0.0
    tolerance = 1e-12 if got.dtype == np.float64 else 1e-5
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    verdict = "yes" if difference <= tolerance * scale else "NO"
    return f"Equals {what}: {verdict} (largest difference {difference:.1e})."


def _gradient_name(name: str) -> str:
    return f"delta_{name[2:]} = dL/d{name}" if name.startswith("z_") else f"dL/d{name}"


def _backward_section(trace: StepTrace) -> list[_Block]:
    blocks: list[_Block] = [
        _Heading("3. Backward pass"),
        _Para(
            "Each layer's backward receives `dL/d(its output)` from the layer after it and returns"
            " `dL/d(its input)`, the chain rule `dL/dx = sum over y a step ahead of x of dL/dy dy/dx`."
        ),
    ]
    records = trace.records
    for position in range(len(records) - 1, -1, -1):
        record = records[position]
        consumer = records[position + 1] if position + 1 < len(records) else None
        blocks.append(_Heading(f"layer {record.index}: {record.layer}", 2))
        if record.derivative is not None and record.input_name.startswith("z_"):
            blocks += _hadamard(record, consumer)
        elif record.layer.params:
            blocks += _parameter_gradients(record)
        else:
            blocks += [
                _Array(_gradient_name(record.name), record.gy),
                _Array(_gradient_name(record.input_name), record.gx),
            ]
    return blocks


def _hadamard(record: LayerRecord, consumer: LayerRecord | None) -> list[_Block]:
    n = record.input_name[2:]
    function, derivative = _ELEMENTWISE[type(record.layer)]
    derivative = derivative.format(l=n)
    if consumer is not None and isinstance(consumer.layer, Linear):
        k = consumer.name[2:]
        incoming = f"W_{k}^T delta_{k}"
        how = f"`dL/d{record.name} = W_{k}^T delta_{k}` (computed as `delta_{k} W_{k}`, rows are samples)"
    else:
        incoming = f"dL/d{record.name}"
        source = f"{consumer.layer}" if consumer is not None else "the loss"
        how = f"`dL/d{record.name}` (from {source}'s backward)"
    product = f"delta_{n} = ({incoming}) * {function}'(z_{n})"
    label = incoming if incoming == f"dL/d{record.name}" else f"{incoming} = dL/d{record.name}"
    return [
        _Para(f"The Hadamard product of seed 000: `{product}`, with `{function}'(z_{n}) = {derivative}`."),
        _Array(label, record.gy),
        _Array(f"{function}'(z_{n}) = {derivative}", record.derivative),
        _Array(f"delta_{n} = their elementwise product", record.gy * record.derivative),
        _Para(
            f"The incoming gradient is {how}. "
            + _agreement(f"{type(record.layer).__name__}.backward", record.gx, record.gy * record.derivative)
        ),
    ]


def _parameter_gradients(record: LayerRecord) -> list[_Block]:
    a, n = record.input_name, record.name[2:]  # a layer with parameters outputs z_n
    linear = isinstance(record.layer, Linear)
    formulas = {} if not linear else {
        "weight": f" = delta_{n}^T {a}   (the seeds' delta a^T, summed over the batch)",
        "bias": f" = sum_n delta_{n}   (the seeds' delta, summed over the batch)",
    }
    blocks: list[_Block] = [_Array(_gradient_name(record.name), record.gy)]
    for name, symbol in record.symbols.items():
        blocks.append(_Array(f"dL/d{symbol}" + formulas.get(name, ""), record.grads[name]))
    back = f"dL/d{a}"
    if linear:
        back += f" = delta_{n} W_{n}   (the seeds' W^T delta"
        back += "; the update does not use it)" if a == "a_0" else ", per sample)"
    blocks.append(_Array(back, record.gx))
    return blocks


def _check_section(trace: StepTrace, dtype: np.dtype) -> list[_Block]:
    h = f"{trace.eps:g}"
    rows = [
        [p.symbol, p.where, f"{p.analytic:.10g}", f"{p.numeric:.10g}", f"{p.relative_error:.1e}"]
        for p in trace.probes
    ]
    worst = max((p.relative_error for p in trace.probes), default=0.0)
    # gradcheck's rule: a probe passes on a small relative error, or on a tiny absolute one
    # (a zero gradient, where any relative error is finite-difference noise)
    agree = all(p.relative_error <= 1e-5 or p.absolute_error <= 1e-8 for p in trace.probes)
    blocks: list[_Block] = [
        _Heading("4. Gradient check: finite differences"),
        _Para(
            f"Central differences `(L(w + h v) - L(w - h v)) / 2h` with `h = {h}` against the analytic"
            " `<dL/dw, v>`: `v` runs over every element of a small parameter, else over random unit"
            " directions."
        ),
        _Table(
            ["parameter", "probe", "analytic", "finite difference", "relative error"],
            rows,
            "llrrr",
        ),
    ]
    if dtype == np.float64:
        verdict = "they agree" if agree else "they DISAGREE"
        blocks.append(
            _Para(
                f"Largest relative error {worst:.1e} (a probe passes below 1e-5, or below 1e-8 absolute):"
                f" {verdict}."
            )
        )
    else:
        blocks.append(
            _Para(
                f"Largest relative error {worst:.1e}. The parameters are {dtype}: finite differences"
                " agree only to about 1e-3 there; build the model with dtype=np.float64 for a tight check."
            )
        )
    return blocks


def _update_section(trace: StepTrace) -> list[_Block]:
    blocks: list[_Block] = [
        _Heading("5. Update"),
        _Para(f"Plain gradient descent `w <- w - eta dL/dw` with `eta = {trace.lr:g}` (bp.SGD)."),
    ]
    for symbol, old in trace.before.items():
        new = trace.after[symbol]
        blocks += [
            _Array(f"{symbol} before", old),
            _Array(f"{symbol} - eta dL/d{symbol}", new),
            _Para(
                _agreement(f"`{symbol} - eta dL/d{symbol}`", new, old - trace.lr * trace.gradients[symbol])
            ),
        ]
    blocks.append(
        _Para(
            f"Loss on the same batch: `{trace.value:.10g}` before the step, `{trace.value_after:.10g}` after."
        )
    )
    return blocks


# --- rendering ----------------------------------------------------------------------------

_WIDTH = 100


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _array_text(value: np.ndarray, max_elements: int, precision: int) -> str:
    if np.issubdtype(value.dtype, np.floating):
        value = value + 0.0  # -0.0 (a gradient masked by ReLU) prints as 0
    if value.size > max_elements:
        first = ", ".join(f"{v:.3g}" for v in value.ravel()[:3])
        norm = float(np.linalg.norm(value))
        return f"array of shape {_shape(value.shape)}, norm {norm:.4g}, first values [{first}, ...]"
    return np.array2string(value, precision=precision, max_line_width=_WIDTH - 4, suppress_small=False)


def _plain(text: str) -> str:
    return text.replace("`", "")


def _text(blocks: list[_Block], max_elements: int, precision: int) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            text = _plain(block.text)
            underline = {0: "#", 1: "=", 2: "-"}[block.level] * min(len(text), _WIDTH)
            lines += ["", text, underline] if block.level else [text, underline]
        elif isinstance(block, _Para):
            lines += ["", *_wrap(_plain(block.text), _WIDTH)]
        elif isinstance(block, _Table):
            lines += ["", *_table_text(block)]
        else:
            body = _array_text(block.value, max_elements, precision)
            lines += ["", f"{block.label}   shape {_shape(block.value.shape)}"]
            lines += ["    " + line for line in body.splitlines()]
    return "\n".join(lines).strip("\n") + "\n"


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line]


def _table_text(table: _Table) -> list[str]:
    rows = [[_plain(cell) for cell in row] for row in [table.header, *table.rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.header))]
    align = table.align or "l" * len(widths)

    def line(row: list[str]) -> str:
        cells = [cell.rjust(w) if a == "r" else cell.ljust(w) for cell, w, a in zip(row, widths, align)]
        return "  ".join(cells).rstrip()

    return [line(rows[0]), "  ".join("-" * w for w in widths), *map(line, rows[1:])]


def _markdown(blocks: list[_Block], max_elements: int, precision: int) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            lines += [f"{'#' * (block.level + 1)} {block.text}", ""]
        elif isinstance(block, _Para):
            lines += [block.text, ""]
        elif isinstance(block, _Table):
            align = block.align or "l" * len(block.header)
            lines.append("| " + " | ".join(block.header) + " |")
            lines.append("|" + "|".join(" ---: " if a == "r" else " --- " for a in align) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in block.rows]
            lines.append("")
        else:
            lines.append(f"`{block.label}`, shape `{_shape(block.value.shape)}`:")
            lines += ["", "```", _array_text(block.value, max_elements, precision), "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
