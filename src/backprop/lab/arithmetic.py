"""The arithmetic of the lab's last step for one unit or one edge, with the library's numbers.

``unit_arithmetic(session, "2:1", sample)`` replays the session's last step through
``explain``'s ``trace_step`` (the layers' own ``forward``/``backward``, on the same batch from
the same parameters, so the numbers are the step's, bit for bit) and lays out, for unit 1 of
hidden layer 2 and one sample of the batch, in the seeds' notation with rows as samples:

- the forward sum ``z_i = sum_j w_ij a_j + b_i`` term by term, and the activation ``a_i = sigma(z_i)``;
- ``delta_i = dL/dz_i``: for the output, from the loss (``(p - t) / N``, ``2 (O - t) / N``);
  for a hidden unit, by the chain rule ``(sum_k w_ki delta_k) sigma'(z_i)`` from the layer after;
- ``dL/dw_ij = sum_n delta_ni a_nj`` over the batch, with this sample's term, and ``dL/db_i``;
- the update ``w <- w - eta dL/dw`` (plus ``eta lambda w`` with L2), before and after, as the
  session's optimiser made it.

``edge_arithmetic(session, "2:1:0", sample)`` does the same for one weight. Layer 0 is the
input features. Each function returns ``{"html": ..., "values": {...}}``: the panel's MathML,
and the named numbers with their full precision (sample and batch-mean values), which are also
in the MathML's ``data-value`` attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..explain.trace import LayerRecord, StepTrace, trace_step
from ..layers.linear import Linear
from ..losses import MSELoss, SigmoidBinaryCrossEntropy
from .mathml import block, number, operator, summation, symbol, text
from .session import LabSession

__all__ = ["NoStepYetError", "edge_arithmetic", "parse_unit", "unit_arithmetic"]


class NoStepYetError(LookupError):
    """An explanation was asked for before the session ran any step."""


def parse_unit(session: LabSession, unit: str, edge: bool = False) -> tuple[int, ...]:
    """``"LAYER:INDEX"`` (or ``"LAYER:INDEX:SOURCE"`` for an edge) checked against the network."""
    widths = [len(session.config.features), *session.config.hidden, session.outputs]
    parts = unit.split(":") if isinstance(unit, str) else []
    expected = 3 if edge else 2
    shape = "LAYER:INDEX:SOURCE" if edge else "LAYER:INDEX"
    if len(parts) != expected or not all(part.isdigit() for part in parts):
        raise ValueError(f"lab: {'edge' if edge else 'unit'} must be {shape} (whole numbers), got {unit!r}")
    numbers = tuple(int(part) for part in parts)
    layer = numbers[0]
    if layer >= len(widths) or (edge and layer == 0):
        low = 1 if edge else 0
        raise ValueError(f"lab: layer must be from {low} to {len(widths) - 1} in this network, got {layer}")
    if numbers[1] >= widths[layer]:
        raise ValueError(f"lab: layer {layer} has units 0 to {widths[layer] - 1}, got {numbers[1]}")
    if edge and numbers[2] >= widths[layer - 1]:
        raise ValueError(
            f"lab: layer {layer - 1} has units 0 to {widths[layer - 1] - 1}, got source {numbers[2]}"
        )
    return numbers


def _trace(session: LabSession) -> StepTrace:
    """The last step again, from the parameters it started with; the model is left as it was."""
    last = session.last_step
    if last is None:
        raise NoStepYetError("lab: no step has run yet; press Step (or Play) and click again")
    params = session.model.params
    now = {name: array.copy() for name, array in params.items()}
    for name, array in params.items():
        np.copyto(array, last.before[name])
    try:
        x = session.train_features()[last.batch]
        t = session.loss_targets(session.train_targets[last.batch])
        return trace_step(
            session.model, session.loss, x, t, lr=last.lr, apply=False, fd_elements=0, directions=0
        )
    finally:
        for name, array in params.items():
            np.copyto(array, now[name])


def _layers(trace: StepTrace) -> list[tuple[LayerRecord, LayerRecord | None]]:
    """Per layer l = 1, 2, ...: the Linear's record and its activation's (None for linear units)."""
    records = trace.records
    pairs = []
    for position, record in enumerate(records):
        if isinstance(record.layer, Linear):
            following = records[position + 1] if position + 1 < len(records) else None
            activation = (
                following if following is not None and not isinstance(following.layer, Linear) else None
            )
            pairs.append((record, activation))
    return pairs


def _sample(trace: StepTrace, sample: int) -> int:
    size = len(trace.x)
    if isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample < size:
        raise ValueError(f"lab: sample must be an index into the last batch, 0 to {size - 1}, got {sample!r}")
    return sample


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="terms"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: float, quantity: str | None = None, scope: str | None = None) -> str:
    """A number alone in a table cell: a minus sign, no parentheses."""
    return f"<math>{number(value, quantity, scope, bracket=False)}</math>"


def _inline(content: str) -> str:
    return f"<math>{content}</math>"


def _section(title: str, *content: str) -> str:
    return f"<section><h4>{title}</h4>{''.join(content)}</section>"


def _activation_name(record: LayerRecord | None) -> str:
    if record is None:
        return "identity"
    return str(getattr(record.layer, "function", type(record.layer).__name__.lower()))


def unit_arithmetic(session: LabSession, unit: str, sample: int = 0) -> dict[str, Any]:
    """The last step's arithmetic for ``unit`` (``"LAYER:INDEX"``) and batch row ``sample``."""
    layer, index = parse_unit(session, unit)
    trace = _trace(session)
    n = _sample(trace, sample)
    batch = len(trace.x)
    pairs = _layers(trace)
    values: dict[str, dict[str, float]] = {}
    heading = f'<p class="step">Step {_step_number(session)}, sample {n} of a batch of {batch}.</p>'
    if layer == 0:
        return _input_unit(session, trace, index, n, heading)
    linear, activation = pairs[layer - 1]
    previous_a = linear.x  # (N, J): the activations a^(l-1) of the batch
    weights = trace.before[linear.symbols["weight"]]
    bias = trace.before[linear.symbols["bias"]]
    z = linear.y[:, index]
    a = activation.y[:, index] if activation is not None else z
    delta = linear.gy[:, index] if linear.gy is not None else np.zeros_like(z)
    l_, i_ = str(layer), str(index)

    def remember(name: str, column: np.ndarray) -> None:
        values[name] = {"sample": float(column[n]), "batch": float(column.mean())}

    remember("z", z)
    remember("a", a)
    remember("delta", delta)

    products = weights[index] * previous_a[n]
    forward_rows = [
        (
            str(j),
            _cell(weights[index, j]),
            _cell(previous_a[n, j]),
            _cell(products[j]),
        )
        for j in range(len(products))
    ]
    forward = _section(
        "Forward",
        block(
            symbol("z", i_, l_),
            operator("="),
            summation("j"),
            symbol("w", f"{index}j", l_),
            symbol("a", "j", str(layer - 1)),
            operator("+"),
            symbol("b", i_, l_),
        ),
        _table(("j", "w<sub>ij</sub>", "a<sub>j</sub>", "w<sub>ij</sub> a<sub>j</sub>"), forward_rows),
        block(
            symbol("z", i_, l_),
            operator("="),
            number(float(products.sum(dtype=np.float64))),
            operator("+"),
            number(bias[index]),
            operator("="),
            number(z[n], "z"),
        ),
        block(
            symbol("a", i_, l_),
            operator("="),
            text(_activation_name(activation)),
            operator("("),
            symbol("z", i_, l_),
            operator(")"),
            operator("="),
            number(a[n], "a"),
        ),
    )
    if layer == len(pairs):
        backward = _output_delta(session, trace, index, n, z, delta, l_, i_)
    else:
        backward = _hidden_delta(trace, pairs, layer, index, n, activation, delta, l_, i_, values)
    gradient, update = _gradient_and_update(session, trace, linear, layer, index, n, None, values)
    batch_note = (
        f'<p class="batch">Over the batch of {batch}: mean '
        f"{_inline(symbol('z', i_, l_) + operator('=') + number(z.mean(), 'z', 'batch'))}, mean "
        f"{_inline(symbol('a', i_, l_) + operator('=') + number(a.mean(), 'a', 'batch'))}, mean "
        f"{_inline(symbol('δ', i_, l_) + operator('=') + number(delta.mean(), 'delta', 'batch'))}.</p>"
    )
    html = heading + forward + backward + batch_note + gradient + update
    return {
        "unit": unit,
        "step": _step_number(session),
        "sample": n,
        "batch_size": batch,
        "html": html,
        "values": values,
    }


def _step_number(session: LabSession) -> int:
    return session.last_step.number if session.last_step is not None else 0


def _input_unit(session: LabSession, trace: StepTrace, index: int, n: int, heading: str) -> dict[str, Any]:
    feature = session.config.features[index]
    x = trace.x[:, index]
    gx = trace.records[0].gx
    values = {"a": {"sample": float(x[n]), "batch": float(x.mean())}}
    content = [
        block(symbol("a", str(index), "0"), operator("="), text(feature), operator("="), number(x[n], "a"))
    ]
    if gx is not None:
        values["dL/da"] = {"sample": float(gx[n, index]), "batch": float(gx[:, index].mean())}
        content.append(
            block(
                operator("∂"),
                text("L"),
                operator("/"),
                operator("∂"),
                symbol("a", str(index), "0"),
                operator("="),
                summation("k"),
                symbol("w", f"k{index}", "1"),
                symbol("δ", "k", "1"),
                operator("="),
                number(gx[n, index], "dL/da"),
            )
        )
    html = heading + _section(
        f"Input feature {feature}",
        *content,
        "<p>An input has no weights: the step changes what it feeds, not it.</p>",
    )
    return {
        "unit": f"0:{index}",
        "step": _step_number(session),
        "sample": n,
        "batch_size": len(trace.x),
        "html": html,
        "values": values,
    }


def _output_delta(
    session: LabSession,
    trace: StepTrace,
    index: int,
    n: int,
    z: np.ndarray,
    delta: np.ndarray,
    l_: str,
    i_: str,
) -> str:
    batch = len(trace.x)
    t = trace.targets
    head = (
        symbol("δ", i_, l_),
        operator("="),
        operator("∂"),
        text("L"),
        operator("/"),
        operator("∂"),
        symbol("z", i_, l_),
        operator("="),
    )
    if isinstance(session.loss, MSELoss):  # L = (1/N) sum (z - t)^2: delta = 2 (z - t) / N
        lead, name, value = [number(2)], symbol("z", i_, l_), float(z[n])
        target = float(t[n, index])
        loss = "squared error, L = (1/N) Σ (z − t)²"
    else:  # the fused losses: delta = (p - t) / N
        lead, name = [], symbol("p", i_)
        if isinstance(session.loss, SigmoidBinaryCrossEntropy):
            value = float(1 / (1 + np.exp(-float(z[n]))))
            target = float(t[n, index])
            loss = "the fused sigmoid + binary cross-entropy"
        else:
            logits = trace.records[-1].y[n].astype(np.float64)
            shifted = np.exp(logits - logits.max())
            value = float(shifted[index] / shifted.sum())
            target = float(int(t[n]) == index)
            loss = "the fused softmax + cross-entropy"
    formula = block(
        *head,
        *lead,
        operator("("),
        name,
        operator("−"),
        symbol("t", i_),
        operator(")"),
        operator("/"),
        text("N"),
    )
    numbers = block(
        operator("="),
        *lead,
        operator("("),
        number(value),
        operator("−"),
        number(target),
        operator(")"),
        operator("/"),
        number(batch),
        operator("="),
        number(delta[n], "delta"),
    )
    return _section(
        "Backward: the output's δ", f"<p>The loss is {loss}, averaged over the batch.</p>", formula, numbers
    )


def _hidden_delta(
    trace: StepTrace,
    pairs: list[tuple[LayerRecord, LayerRecord | None]],
    layer: int,
    index: int,
    n: int,
    activation: LayerRecord | None,
    delta: np.ndarray,
    l_: str,
    i_: str,
    values: dict[str, dict[str, float]],
) -> str:
    after = pairs[layer]  # the layer l + 1 the chain rule comes back from
    next_weights = trace.before[after[0].symbols["weight"]][:, index]
    next_delta = after[0].gy[n] if after[0].gy is not None else np.zeros(len(next_weights))
    incoming = activation.gy[:, index] if activation is not None and activation.gy is not None else delta
    derivative = (
        activation.derivative[:, index]
        if activation is not None and activation.derivative is not None
        else np.ones_like(delta)
    )
    values["dL/da"] = {"sample": float(incoming[n]), "batch": float(incoming.mean())}
    values["sigma'"] = {"sample": float(derivative[n]), "batch": float(derivative.mean())}
    up = str(layer + 1)
    rows = [
        (
            str(k),
            _cell(next_weights[k]),
            _cell(next_delta[k]),
            _cell(next_weights[k] * next_delta[k]),
        )
        for k in range(len(next_weights))
    ]
    return _section(
        "Backward: the chain rule",
        block(
            symbol("δ", i_, l_),
            operator("="),
            operator("("),
            summation("k"),
            symbol("w", f"k{index}", up),
            symbol("δ", "k", up),
            operator(")"),
            operator("·"),
            text(_activation_name(activation) + "′"),
            operator("("),
            symbol("z", i_, l_),
            operator(")"),
        ),
        _table(("k", f"w<sub>k{index}</sub>", "δ<sub>k</sub>", f"w<sub>k{index}</sub> δ<sub>k</sub>"), rows),
        block(
            symbol("δ", i_, l_),
            operator("="),
            number(incoming[n], "dL/da"),
            operator("·"),
            number(derivative[n], "sigma'"),
            operator("="),
            number(delta[n], "delta"),
        ),
    )


def _gradient_and_update(
    session: LabSession,
    trace: StepTrace,
    linear: LayerRecord,
    layer: int,
    index: int,
    n: int,
    source: int | None,
    values: dict[str, dict[str, float]],
) -> tuple[str, str]:
    """The gradient rows ``dL/dw_ij`` (all j, or only ``source``) and their update."""
    l_, i_ = str(layer), str(index)
    grad_w, grad_b = linear.grads["weight"][index], linear.grads["bias"][index]
    delta = linear.gy[:, index] if linear.gy is not None else np.zeros(len(trace.x))
    columns = range(len(grad_w)) if source is None else [source]
    last = session.last_step
    assert last is not None  # _trace refused a session without a step
    weight_name, bias_name = f"{linear.index}.weight", f"{linear.index}.bias"  # Sequential's names
    before_w, after_w = last.before[weight_name][index], last.after[weight_name][index]
    before_b, after_b = float(last.before[bias_name][index]), float(last.after[bias_name][index])
    rows = []
    for j in columns:
        term = float(delta[n]) * float(linear.x[n, j])
        rows.append(
            (
                str(j),
                _cell(term),
                _cell(grad_w[j], f"dL/dw{j}", "batch"),
                _cell(before_w[j]),
                _cell(after_w[j], f"w{j}", "after"),
            )
        )
        values[f"dL/dw{j}"] = {"sample": term, "batch": float(grad_w[j])}
        values[f"w{j}"] = {"before": float(before_w[j]), "after": float(after_w[j])}
    values["dL/db"] = {"sample": float(delta[n]), "batch": float(grad_b)}
    values["b"] = {"before": before_b, "after": after_b}
    prev = str(layer - 1)
    gradient = _section(
        "Gradient",
        block(
            operator("∂"),
            text("L"),
            operator("/"),
            operator("∂"),
            symbol("w", f"{index}j", l_),
            operator("="),
            summation("n"),
            symbol("δ", f"n{index}", l_),
            symbol("a", "nj", prev),
        ),
        block(
            operator("∂"),
            text("L"),
            operator("/"),
            operator("∂"),
            symbol("b", i_, l_),
            operator("="),
            summation("n"),
            symbol("δ", f"n{index}", l_),
            operator("="),
            number(grad_b, "dL/db", "batch"),
        ),
        "<p>δ already holds the 1/N of the batch mean, so the sum over the batch is the mean of N δ a.</p>",
    )
    optimizer, lr, l2 = session.config.optimizer, last.lr, last.l2  # as the step ran
    if optimizer == "sgd":
        decay = [operator("+"), symbol("λ"), symbol("w")] if l2 else []
        rule = block(
            symbol("w"),
            operator("←"),
            symbol("w"),
            operator("−"),
            symbol("η"),
            operator("("),
            operator("∂"),
            text("L"),
            operator("/"),
            operator("∂"),
            symbol("w"),
            *decay,
            operator(")"),
            '<mspace width="1em"/>',
            text(f"η = {lr:g}" + (f", λ = {l2:g}" if l2 else "")),
        )
    else:
        name = (
            "SGD with momentum μ = 0.9: v ← μ v + ∂L/∂w, w ← w − η v"
            if optimizer == "momentum"
            else ("Adam: w ← w − η m̂ / (√v̂ + ε), from running means of ∂L/∂w and its square")
        )
        rule = f"<p>{name}; η = {lr:g}{f', λ = {l2:g}' if l2 else ''}.</p>"
    update = _section(
        "Update",
        rule,
        _table(
            ("j", "this sample's δ a<sub>j</sub>", "∂L/∂w<sub>ij</sub> (batch)", "w before", "w after"), rows
        ),
        block(
            symbol("b", i_, l_), operator(":"), number(before_b), operator("→"), number(after_b, "b", "after")
        ),
    )
    return gradient, update


def edge_arithmetic(session: LabSession, edge: str, sample: int = 0) -> dict[str, Any]:
    """The last step's arithmetic for the weight ``edge`` (``"LAYER:INDEX:SOURCE"``): w_{INDEX,SOURCE}."""
    layer, index, source = parse_unit(session, edge, edge=True)
    trace = _trace(session)
    n = _sample(trace, sample)
    linear, _ = _layers(trace)[layer - 1]
    values: dict[str, dict[str, float]] = {}
    weight = float(trace.before[linear.symbols["weight"]][index, source])
    a = float(linear.x[n, source])
    values["w*a"] = {"sample": weight * a, "batch": float(weight * linear.x[:, source].mean())}
    l_, ij = str(layer), f"{index}{source}"
    forward = _section(
        "Forward",
        f"<p>This edge carries unit {layer - 1}:{source} into unit {layer}:{index}.</p>",
        block(
            symbol("w", ij, l_),
            symbol("a", str(source), str(layer - 1)),
            operator("="),
            number(weight),
            operator("·"),
            number(a),
            operator("="),
            number(weight * a, "w*a"),
        ),
    )
    gradient, update = _gradient_and_update(session, trace, linear, layer, index, n, source, values)
    heading = (
        f'<p class="step">Step {_step_number(session)}, sample {n} of a batch of {len(trace.x)}.</p>'
    )
    return {
        "edge": edge,
        "step": _step_number(session),
        "sample": n,
        "batch_size": len(trace.x),
        "html": heading + forward + gradient + update,
        "values": values,
    }
