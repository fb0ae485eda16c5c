"""Seed 002: softmax classification, one step of gradient descent with every number printed.

One ``Linear(2 -> 3)`` layer, softmax and cross-entropy on ``x = [8, 7]``, ``t = [0, 0, 1]``,
learning rate 1, float64. The seed writes the layer as ``theta = w^T x + b`` with ``w`` of
shape input x output (2 x 3); ``Linear.weight`` is output x input, so the seed's ``w`` is
``weight.T`` and that is how the numbers are reported here. With ``p = softmax(theta)``::

    J = -sum_i t_i ln p_i,   dJ/dtheta = p - t,   dJ/dw = x (p - t)^T,   dJ/db = p - t

Run 1 starts from every weight 0.5 and every bias 1; run 2 from seeded uniform weights in
``[0, 1)`` and zero biases, as the seed's second run.

The seed printed "Current loss: 1.9095425", not ``ln 3``: its code summed a binary
cross-entropy over the three classes, ``-sum_i [t_i ln p_i + (1 - t_i) ln(1 - p_i)]`` with
``p`` clipped into ``[1e-15, 1 - 1e-15]``. ``seed_loss`` reproduces that number.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import backprop as bp

from ._setup import ExplainSetup

X = np.array([[8.0, 7.0]])
LABEL = 2
T = np.array([[0.0, 0.0, 1.0]])
LR = 1.0
CLIP = 1e-15
SEED_LOSS = "the seed's loss (summed BCE)"

_WHY = """\
Why two losses: the categorical cross-entropy -sum_i t_i ln p_i is what softmax training minimises
(its gradient is p - t). The seed printed -sum_i [t_i ln p_i + (1 - t_i) ln(1 - p_i)], a binary
cross-entropy summed over the three classes: before the step that is ln 3 + 2 ln(3/2) = 1.9095425.
After the step p is [3e-50, 3e-50, 1] and every term is ~0, but the seed clipped p into
[1e-15, 1 - 1e-15] first, so each of the three terms is -ln(1 - 1e-15); 1 - 1e-15 rounds to
0.999999999999999000799 in float64, hence 3 x 9.992e-16 = 2.99760217e-15 rather than 0."""


def seed_loss(p: np.ndarray, t: np.ndarray) -> float:
    """The seed's loss: ``-sum_i [t_i ln p_i + (1 - t_i) ln(1 - p_i)]``, p clipped to ``[1e-15, 1 - 1e-15]``.

    It computes ``ln(1 - p)`` as the seed did, not ``log1p(-p)``: the rounding of
    ``1 - 1e-15`` is what makes its 2.99760217e-15 (``bp.BinaryCrossEntropy("sum")`` uses
    ``log1p`` and a tighter clip, and gives 1.9095425 before the step as well).
    """
    p = np.clip(p, CLIP, 1 - CLIP)
    return -float(np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)))


def build(weight: float | None = 0.5, bias: float = 1.0, seed: int = 0) -> bp.Linear:
    """``Linear(2 -> 3)`` in float64: constant ``weight`` or, with ``weight=None``, ``U(0, 1)`` seeded."""
    layer = bp.Linear(2, 3, dtype=np.float64)
    if weight is None:
        bp.init.uniform(layer.weight, 0.0, 1.0, rng=seed)
    else:
        bp.init.constant(layer.weight, weight)
    bp.init.constant(layer.params["bias"], bias)
    return layer


def one_step(layer: bp.Linear) -> dict[str, Any]:
    """One step ``w <- w - eta dJ/dw`` on the seed's sample; every number before and after it.

    Weights are returned in the seed's layout (input x output), i.e. ``layer.weight.T``.
    """
    loss, softmax = bp.SoftmaxCrossEntropy(), bp.Softmax()
    z = layer(X)
    p = softmax(z)
    before = {
        "weight_before": layer.weight.T.copy(),
        "bias_before": layer.params["bias"].copy(),
        "logits": z[0].copy(),
        "probabilities": p[0].copy(),
        "cross_entropy": loss(z, np.array([LABEL])),
        "seed_loss": seed_loss(p, T),
    }
    layer.backward(loss.backward())
    weight_grad, bias_grad = layer.grads["weight"], layer.grads["bias"]
    assert weight_grad is not None and bias_grad is not None  # no optimiser hook outside fit
    gradients = {
        "logit_grad": loss.backward()[0].copy(),
        "weight_grad": weight_grad.T.copy(),
        "bias_grad": bias_grad.copy(),
    }
    bp.SGD(layer, LR).step()
    z = layer(X)
    p = softmax(z)
    others = [j for j in range(3) if j != LABEL]
    return before | gradients | {
        "weight": layer.weight.T.copy(),
        "bias": layer.params["bias"].copy(),
        "logits_after": z[0].copy(),
        "prediction": p[0].copy(),
        "cross_entropy_after": loss(z, np.array([LABEL])) + 0.0,  # + 0.0: no "-0.0"
        # ln sum_j e^(z_j - z_t) = ln(1 + sum_{j != t} e^(z_j - z_t)): log1p keeps what the
        # float64 log-sum-exp rounds away once p_t is 1 to 16 digits
        "cross_entropy_after_exact": math.log1p(sum(math.exp(z[0, j] - z[0, LABEL]) for j in others)),
        "seed_loss_after": seed_loss(p, T),
    }


def run(seed: int = 0) -> dict[str, Any]:
    """Both runs of seed 002: ``{"constant": one_step(...), "random": one_step(...), "seed": seed}``."""
    return {
        "constant": one_step(build(0.5, 1.0)),
        "random": one_step(build(None, 0.0, seed)),
        "seed": seed,
        "ln3": math.log(3),
    }


def _array(value: np.ndarray, indent: int) -> str:
    text = np.array2string(value, precision=8, max_line_width=100 - indent)
    return text.replace("\n", "\n" + " " * indent)


def _run_report(title: str, r: dict[str, Any]) -> list[str]:
    width = 34
    exact = ""
    if not math.isclose(r["cross_entropy_after"], r["cross_entropy_after_exact"], rel_tol=1e-12):
        exact = f" in float64, exactly {r['cross_entropy_after_exact']:.8g}"
    rows = [
        ("w (input x output)", r["weight_before"]),
        ("b", r["bias_before"]),
        ("theta = w^T x + b", r["logits"]),
        ("p = softmax(theta)", r["probabilities"]),
    ]
    lines = [title, "  before the step"]
    lines += [f"    {label:<{width}}{_array(value, 4 + width)}" for label, value in rows]
    lines += [
        f"    {'cross-entropy -sum t ln p':<{width}}{r['cross_entropy']:.10f}",
        f"    {SEED_LOSS:<{width}}{r['seed_loss']:.8g}",
        "  gradients",
        f"    {'dJ/dtheta = p - t':<{width}}{_array(r['logit_grad'], 4 + width)}",
        f"    {'dJ/dw = x (p - t)^T':<{width}}{_array(r['weight_grad'], 4 + width)}",
        f"    {'dJ/db = p - t':<{width}}{_array(r['bias_grad'], 4 + width)}",
        f"  after one step w <- w - {LR:g} dJ/dw",
        f"    {'w (input x output)':<{width}}{_array(r['weight'], 4 + width)}",
        f"    {'b':<{width}}{_array(r['bias'], 4 + width)}",
        f"    {'y_hat = softmax(w^T x + b)':<{width}}{_array(r['prediction'], 4 + width)}",
        f"    {'cross-entropy -sum t ln p':<{width}}{r['cross_entropy_after']:.8g}" + exact,
        f"    {SEED_LOSS:<{width}}{r['seed_loss_after']:.8e}",
    ]
    return lines


def report(result: dict[str, Any]) -> str:
    """The seed's printout, both runs, and why its loss is not ``ln 3``."""
    lines = [
        "Seed 002: one Linear(2 -> 3) layer, softmax, cross-entropy; x = [8, 7], t = [0, 0, 1],",
        f"learning rate {LR:g}, float64. ln 3 = {result['ln3']:.10f}.",
        "",
        *_run_report("Run 1: every weight 0.5, every bias 1", result["constant"]),
        "",
        *_run_report(
            f"Run 2: weights uniform in [0, 1) (seed {result['seed']}), biases 0", result["random"]
        ),
        "",
        _WHY,
    ]
    return "\n".join(lines) + "\n"


def explain_setup(seed: int = 0) -> ExplainSetup:
    """Run 1's layer and the seed's single sample, for ``bp.explain`` (8 digits, as the seed)."""
    del seed  # run 1 has no random part
    return ExplainSetup(build(0.5, 1.0), bp.SoftmaxCrossEntropy(), X, np.array([LABEL]), LR, precision=8)
