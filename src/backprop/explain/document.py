"""The document of one traced step: the list of blocks, section by section, in the seeds' notation.

It shows the forward pass layer by layer (``z_l = a_{l-1} W_l^T + b_l``, ``a_l = sigma(z_l)``),
the loss and where the backward pass starts (``dL/dz_L = (p - t) / N`` for the fused softmax +
cross-entropy, seeds 002 and 003; ``(sigmoid(z_L) - t) / M`` for the fused sigmoid + binary
cross-entropy; ``Delta = -2 (t - O) / M`` for the squared error, seed 001),
the backward pass in reverse with seed 000's Hadamard product
``delta_l = (W_{l+1}^T delta_{l+1}) * sigma'(z_l)`` and its three factors, the finite
differences beside each analytic gradient, and the update with the loss after it. Each claim
that two numbers agree is computed here, from the trace.
"""

from __future__ import annotations

import re

import numpy as np

from ..check import ATOL, RTOL, passes
from ..layers.activations import Activation, sigmoid_forward, softmax_forward
from ..layers.base import Layer
from ..layers.linear import Linear
from ..losses import CrossEntropy, MSELoss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy, one_hot
from .render import Array, Block, Heading, Para, Table, shape_text
from .trace import LayerRecord, StepTrace


def document(trace: StepTrace, model: Layer) -> list[Block]:
    """The blocks of the whole document: forward, loss, backward, gradient check, update."""
    records = trace.records
    n = len(trace.x)
    dtype = records[0].x.dtype
    blocks: list[Block] = [
        Heading("One training step, every number", 0),
        Para(
            f"Model {model}; loss {trace.loss!r}; a batch of N = {n}; learning rate `eta = {trace.lr:g}`;"
            f" {dtype}."
            " Rows are samples, so the seeds' `z = W a + b` for one column vector reads"
            " `z = a W^T + b` for the batch; `delta_l = dL/dz_l`."
        ),
        Para(
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


def _forward_section(trace: StepTrace) -> list[Block]:
    rows = [[str(r.index), str(r.layer), f"`{r.formula}`", shape_text(r.y.shape)] for r in trace.records]
    blocks: list[Block] = [
        Heading("1. Forward pass"),
        Table(["layer", "component", "computes", "output shape"], rows),
        Array("a_0 = x", trace.x),
    ]
    for record in trace.records:
        for symbol in record.symbols.values():
            blocks.append(Array(symbol, trace.before[symbol]))
        blocks.append(Array(record.name, record.y))
    return blocks


def _one_hot(trace: StepTrace) -> np.ndarray | None:
    """The targets as a distribution per row, for classification losses; None otherwise."""
    output = trace.records[-1].y
    t = trace.targets
    if not isinstance(trace.loss, (SoftmaxCrossEntropy, CrossEntropy)) or output.ndim != 2:
        return None
    return one_hot(t, output.shape[1], output.dtype) if t.ndim == 1 else t


def _loss_section(trace: StepTrace) -> list[Block]:
    loss, output = trace.loss, trace.records[-1]
    out, n = output.name, len(trace.x)
    mean = loss.reduction == "mean"
    blocks: list[Block] = [Heading("2. Loss")]
    t = _one_hot(trace)
    if isinstance(loss, SoftmaxCrossEntropy):
        assert t is not None  # (N, C) logits, checked by the loss
        p = softmax_forward(output.y)
        average = "(1/N) " if mean else ""
        blocks += [
            Para(f"The fused softmax + cross-entropy on the logits `{out}`."),
            Array(f"p = softmax({out})", p),
            Array("t (one-hot)" if trace.targets.ndim == 1 else "t", t),
            Para(f"`L = -{average}sum_n sum_j t_nj ln p_nj = {trace.value:.10g}`"),
        ]
        expected = (p - t) / (n if mean else 1)
        formula = f"{_gradient_name(out)} = (p - t){' / N' if mean else ''}"
        note = "the seeds' `y - t`: softmax's Jacobian times `-t / p` collapses to it (seeds 002, 003)"
    elif isinstance(loss, SigmoidBinaryCrossEntropy):
        m = output.y.size
        p = sigmoid_forward(output.y)
        t = np.asarray(trace.targets, dtype=output.y.dtype)
        blocks += [
            Para(f"The fused sigmoid + binary cross-entropy on the logits `{out}`, elementwise."),
            Array(f"p = sigmoid({out})", p),
            Array("t (targets)", t),
            Para(
                f"`L = -{'(1/M) ' if mean else ''}sum_i [t_i ln p_i + (1 - t_i) ln(1 - p_i)]"
                f" = {trace.value:.10g}`" + (f", `M = {m}` outputs in all" if mean else "")
            ),
        ]
        expected = (p - t) / (m if mean else 1)
        formula = f"{_gradient_name(out)} = (sigmoid({out}) - t){' / M' if mean else ''}"
        note = (
            "the seeds' `y - t`: `dL/dp = (p - t) / (p (1 - p))` times the sigmoid's `p (1 - p)`"
        )
    elif isinstance(loss, MSELoss):
        m = output.y.size
        blocks += [
            Para(f"Squared error on the outputs `O = {out}`."),
            Array("t (targets)", trace.targets),
            Para(
                f"`L = {'(1/M) ' if mean else ''}sum_i (O_i - t_i)^2 = {trace.value:.10g}`"
                + (f", `M = {m}` outputs in all" if mean else "")
            ),
        ]
        expected = -2 * (trace.targets - output.y) / (m if mean else 1)
        formula = f"Delta = {_gradient_name(out)} = -2 (t - O){' / M' if mean else ''}"
        note = "seed 001's `Delta = -2 (y - O)`" + (", divided by M for the mean" if mean else "")
    else:
        if t is not None:
            blocks.append(Array("t (one-hot)", t))
        else:
            blocks.append(Array("t (targets)", trace.targets))
        blocks.append(Para(f"`L = {trace.value:.10g}`"))
        expected, formula, note = None, f"dL/d{out} = {type(loss).__name__}.backward()", ""
    blocks.append(Para(f"The backward pass starts here: `{formula}`" + (f", {note}." if note else ".")))
    blocks.append(Array(f"dL/d{out}", trace.output_grad))
    if expected is not None:
        blocks.append(Para(_agreement(f"{type(loss).__name__}.backward()", trace.output_grad, expected)))
    return blocks


def _agreement(what: str, got: np.ndarray, expected: np.ndarray) -> str:
    difference = float(np.max(np.abs(got - expected))) if got.size else 0.0
    tolerance = 1e-12 if got.dtype == np.float64 else 1e-5
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    verdict = "yes" if difference <= tolerance * scale else "NO"
    return f"Equals {what}: {verdict} (largest difference {difference:.1e})."


def _gradient_name(name: str) -> str:
    return f"delta_{name[2:]} = dL/d{name}" if name.startswith("z_") else f"dL/d{name}"


def _backward_section(trace: StepTrace) -> list[Block]:
    blocks: list[Block] = [
        Heading("3. Backward pass"),
        Para(
            "Each layer's backward receives `dL/d(its output)` from the layer after it and returns"
            " `dL/d(its input)`, the chain rule `dL/dx = sum over y a step ahead of x of dL/dy dy/dx`."
        ),
    ]
    records = trace.records
    for position in range(len(records) - 1, -1, -1):
        record = records[position]
        assert record.gy is not None and record.gx is not None  # trace_step set both
        consumer = records[position + 1] if position + 1 < len(records) else None
        blocks.append(Heading(f"layer {record.index}: {record.layer}", 2))
        if record.derivative is not None and record.input_name.startswith("z_"):
            blocks += _hadamard(record, consumer)
        elif record.layer.params:
            blocks += _parameter_gradients(record)
        else:
            blocks += [
                Array(_gradient_name(record.name), record.gy),
                Array(_gradient_name(record.input_name), record.gx),
            ]
    return blocks


def _hadamard(record: LayerRecord, consumer: LayerRecord | None) -> list[Block]:
    # an elementwise activation (trace._is_elementwise), after trace_step
    assert isinstance(record.layer, Activation) and record.layer.derivative is not None
    assert record.gy is not None and record.gx is not None and record.derivative is not None
    n = record.input_name[2:]
    function, derivative = record.layer.function, _in_seed_notation(record.layer.derivative, n)
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
        Para(f"The Hadamard product of seed 000: `{product}`, with `{function}'(z_{n}) = {derivative}`."),
        Array(label, record.gy),
        Array(f"{function}'(z_{n}) = {derivative}", record.derivative),
        Array(f"delta_{n} = their elementwise product", record.gy * record.derivative),
        Para(
            f"The incoming gradient is {how}. "
            + _agreement(f"{type(record.layer).__name__}.backward", record.gx, record.gy * record.derivative)
        ),
    ]


def _parameter_gradients(record: LayerRecord) -> list[Block]:
    a, n = record.input_name, record.name[2:]  # a layer with parameters outputs z_n
    assert record.gy is not None and record.gx is not None  # trace_step set both
    linear = isinstance(record.layer, Linear)
    formulas = {} if not linear else {
        "weight": f" = delta_{n}^T {a}   (the seeds' delta a^T, summed over the batch)",
        "bias": f" = sum_n delta_{n}   (the seeds' delta, summed over the batch)",
    }
    blocks: list[Block] = [Array(_gradient_name(record.name), record.gy)]
    for name, symbol in record.symbols.items():
        blocks.append(Array(f"dL/d{symbol}" + formulas.get(name, ""), record.grads[name]))
    back = f"dL/d{a}"
    if linear:
        back += f" = delta_{n} W_{n}   (the seeds' W^T delta"
        back += "; the update does not use it)" if a == "a_0" else ", per sample)"
    blocks.append(Array(back, record.gx))
    return blocks


def _check_section(trace: StepTrace, dtype: np.dtype) -> list[Block]:
    h = f"{trace.eps:g}"
    rows = [
        [p.symbol, p.where, f"{p.analytic:.10g}", f"{p.numeric:.10g}", f"{p.relative_error:.1e}"]
        for p in trace.probes
    ]
    worst = max((p.relative_error for p in trace.probes), default=0.0)
    # gradcheck's rule: a probe passes on a small relative error, or on a tiny absolute one
    # (a zero gradient, where any relative error is finite-difference noise)
    agree = all(passes(p.relative_error, p.absolute_error) for p in trace.probes)
    blocks: list[Block] = [
        Heading("4. Gradient check: finite differences"),
        Para(
            f"Central differences `(L(w + h v) - L(w - h v)) / 2h` with `h = {h}` against the analytic"
            " `<dL/dw, v>`: `v` runs over every element of a small parameter, else over random unit"
            " directions."
        ),
        Table(
            ["parameter", "probe", "analytic", "finite difference", "relative error"],
            rows,
            "llrrr",
        ),
    ]
    if dtype == np.float64:
        verdict = "they agree" if agree else "they DISAGREE"
        blocks.append(
            Para(
                f"Largest relative error {worst:.1e} (a probe passes below {_power(RTOL)}, or below"
                f" {_power(ATOL)} absolute):"
                f" {verdict}."
            )
        )
    else:
        blocks.append(
            Para(
                f"Largest relative error {worst:.1e}. The parameters are {dtype}: finite differences"
                " agree only to about 1e-3 there; build the model with dtype=np.float64 for a tight check."
            )
        )
    return blocks


def _update_section(trace: StepTrace) -> list[Block]:
    blocks: list[Block] = [
        Heading("5. Update"),
        Para(f"Plain gradient descent `w <- w - eta dL/dw` with `eta = {trace.lr:g}` (bp.SGD)."),
    ]
    for symbol, old in trace.before.items():
        new = trace.after[symbol]
        blocks += [
            Array(f"{symbol} before", old),
            Array(f"{symbol} - eta dL/d{symbol}", new),
            Para(
                _agreement(f"`{symbol} - eta dL/d{symbol}`", new, old - trace.lr * trace.gradients[symbol])
            ),
        ]
    blocks.append(
        Para(
            f"Loss on the same batch: `{trace.value:.10g}` before the step, `{trace.value_after:.10g}` after."
        )
    )
    return blocks


def _in_seed_notation(formula: str, n: str) -> str:
    """An activation's ``f'`` in ``x`` and ``y`` for layer ``n``: ``x`` is ``z_n``, ``y`` is ``a_n``."""
    return re.sub(r"\b[xy]\b", lambda m: f"{'z' if m.group() == 'x' else 'a'}_{n}", formula)


def _power(threshold: float) -> str:
    """``1e-5`` rather than Python's ``1e-05``."""
    return f"{threshold:.0e}".replace("e-0", "e-")
