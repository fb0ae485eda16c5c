"""Loss functions: ``value = loss(outputs, targets)`` is a float, ``loss.backward()`` is dL/d(outputs).

``reduction="mean"`` averages over the batch (``N`` samples; the elementwise losses average
over every element, as PyTorch does), ``reduction="sum"`` adds, as the seeds'
``L(w; D) = sum_i err(f_w(x_i), t_i)`` does. The gradient of the mean is the gradient of the
sum divided by the same count (seed 001: "divide dE/dO by the number of samples").

``loss(outputs, targets, sample_weight=w)`` weights sample ``n``'s terms by ``w_n >= 0``: the
sum becomes ``sum_n w_n err_n`` and the mean divides it by ``sum_n w_n`` (times the elements per
sample) instead of ``N``, so weights of 1 give the unweighted loss; each row of the gradient is
multiplied by its ``w_n`` (scikit-learn's ``sample_weight``).

Four pairs share the output error ``delta = outputs - targets`` (times the reduction's
factor): softmax + cross-entropy (``SoftmaxCrossEntropy``), sigmoid + binary cross-entropy
(``SigmoidBinaryCrossEntropy``), exp + Poisson likelihood (``PoissonNLLLoss``) and identity +
squared error (up to the factor 2). The fused losses rely on it: they take the logits (or
log-rates) ``z`` and return ``dL/dz`` directly.

Loss values are Python floats. ``MSELoss`` and ``SigmoidBinaryCrossEntropy`` add their terms
in float64, without a float64 copy of the outputs: a float32 square overflows from 1.8e19.
"""

from __future__ import annotations

import math
import string

import numpy as np
from numpy.typing import ArrayLike

_REDUCTIONS = ("mean", "sum")


def one_hot(labels: np.ndarray, classes: int, dtype: np.dtype) -> np.ndarray:
    """Integer labels ``(N,)`` in ``[0, classes)`` as rows ``t_n = e_{labels[n]}``, shape ``(N, classes)``."""
    t = np.zeros((len(labels), classes), dtype)
    t[np.arange(len(labels)), labels] = 1
    return t


class Loss:
    """Base: checks the reduction, keeps what ``backward`` needs from the last call."""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction
        self._grad: np.ndarray | None = None

    def __call__(
        self, outputs: np.ndarray, targets: np.ndarray, sample_weight: ArrayLike | None = None
    ) -> float:
        if sample_weight is None:  # a user's loss written before sample weights takes two arguments
            return self.forward(outputs, targets)
        return self.forward(outputs, targets, sample_weight=sample_weight)

    def forward(
        self, outputs: np.ndarray, targets: np.ndarray, sample_weight: ArrayLike | None = None
    ) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """dL/d(outputs) of the last call, shape and dtype of the outputs."""
        if self._grad is None:
            raise ValueError(f"{self}: backward called before the loss was computed")
        return self._grad

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"

    def _check_outputs(self, outputs: np.ndarray, ndim: int | None, layout: str) -> np.ndarray:
        if not isinstance(outputs, np.ndarray):
            raise TypeError(f"{self}: expected outputs as a numpy.ndarray, got {type(outputs).__name__}")
        if outputs.dtype.kind != "f":
            raise TypeError(f"{self}: expected floating-point outputs, got {outputs.dtype}")
        if (ndim is not None and outputs.ndim != ndim) or outputs.ndim == 0 or outputs.shape[0] == 0:
            raise ValueError(f"{self}: expected outputs of shape {layout}, got {outputs.shape}")
        return outputs

    def _class_targets(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Checked targets for ``(N, C)`` outputs: int labels ``(N,)`` or probabilities ``(N, C)``."""
        targets = np.asarray(targets)
        n, classes = outputs.shape
        if targets.dtype.kind in "iu":
            if targets.shape != (n,):
                raise ValueError(
                    f"{self}: expected integer labels of shape ({n},) for outputs {outputs.shape},"
                    f" got {targets.shape}"
                )
            if targets.min() < 0 or targets.max() >= classes:
                bad = targets[(targets < 0) | (targets >= classes)][0]
                raise ValueError(f"{self}: labels must lie in [0, {classes}), got {bad}")
            return targets
        if targets.dtype.kind != "f":
            raise TypeError(f"{self}: expected integer labels or float probabilities, got {targets.dtype}")
        if targets.shape != outputs.shape:
            raise ValueError(
                f"{self}: expected target probabilities of shape {outputs.shape} (the outputs'),"
                f" got {targets.shape}"
            )
        if not np.allclose(targets.sum(axis=1), 1.0, atol=1e-4):
            raise ValueError(f"{self}: each row of target probabilities must sum to 1")
        return targets.astype(outputs.dtype, copy=False)

    def _same_shape_targets(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        targets = np.asarray(targets)
        if targets.shape != outputs.shape:
            column = outputs.shape == (*targets.shape, 1)
            hint = " (reshape the targets with t.reshape(-1, 1))" if column else ""
            raise ValueError(
                f"{self}: expected targets of shape {outputs.shape} (the outputs'), got {targets.shape}{hint}"
            )
        return targets.astype(outputs.dtype, copy=False)

    def _probability_targets(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Targets of the outputs' shape with values in [0, 1], in the outputs' dtype.

        Integer and boolean 0/1 labels are converted; NaN is refused like any value outside.
        """
        targets = np.asarray(targets)
        if targets.dtype.kind not in "biuf":
            raise TypeError(
                f"{self}: expected targets of 0/1 labels or probabilities in [0, 1],"
                f" got dtype {targets.dtype}"
            )
        t = self._same_shape_targets(outputs, targets)
        # written so that NaN (for which every comparison is False) is refused too
        if t.size and not (t.min() >= 0 and t.max() <= 1):
            raise ValueError(f"{self}: targets must lie in [0, 1], got values in [{t.min()}, {t.max()}]")
        return t

    def _scale(self, count: int) -> float:
        return 1.0 / count if self.reduction == "mean" else 1.0

    def _weights(self, outputs: np.ndarray, sample_weight: ArrayLike | None) -> np.ndarray | None:
        """Checked per-sample weights, float64 ``(N,)``, or None: finite, >= 0, not all 0."""
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight)
        n = outputs.shape[0]
        if w.dtype.kind not in "biuf" or w.shape != (n,):
            raise ValueError(
                f"{self}: expected sample_weight of {n} numbers, one per sample, got"
                f" {w.dtype} of shape {w.shape}"
            )
        w = w.astype(np.float64, copy=False)
        bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
        if bad.size:
            first = bad[0]
            raise ValueError(f"{self}: sample_weight must be finite and >= 0; sample {first} has {w[first]}")
        if not w.sum() > 0:
            raise ValueError(f"{self}: sample_weight is all zero; at least one weight must be positive")
        return w

    def _weighted_scale(self, n: int, per_sample: int, w: np.ndarray | None) -> float:
        """The reduction's factor: 1 for the sum; for the mean 1 over ``per_sample`` terms times
        the samples, counted by their weights when there are weights."""
        if self.reduction == "sum":
            return 1.0
        return 1.0 / (per_sample * (n if w is None else float(w.sum())))


def _rows(w: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Per-sample weights ``(N,)`` shaped to multiply the rows of ``like``, in its dtype."""
    return w.astype(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def _weighted_sum(w: np.ndarray, a: np.ndarray, b: np.ndarray | None = None) -> float:
    """``sum_n w_n sum_j a_nj (b_nj)`` in float64, for arrays ``(N, ...)``."""
    a2 = a.reshape(len(a), -1)
    if b is None:
        return float(np.einsum("n,nj->", w, a2, dtype=np.float64))
    return float(np.einsum("n,nj,nj->", w, a2, b.reshape(len(b), -1), dtype=np.float64))


def _sum_of_products(a: np.ndarray, b: np.ndarray) -> float:
    """``sum_i a_i b_i`` over every element, accumulated in float64 whatever the dtype.

    ``einsum`` with ``dtype=float64`` casts a block at a time, so a float32 input costs no
    float64 copy of the whole array.
    """
    axes = string.ascii_letters[: a.ndim]
    return float(np.einsum(f"{axes},{axes}->", a, b, dtype=np.float64))


class SoftmaxCrossEntropy(Loss):
    """Softmax and cross-entropy fused, on logits ``z`` of shape ``(N, C)``.

    Forward:  ``p = softmax(z)``, ``L = -(1/N) sum_n sum_j t_nj log p_nj`` (mean) or without
    ``1/N`` (sum); ``log p`` comes from the log-sum-exp, so no probability is ever ``log(0)``.
    Backward: ``dL/dz = (p - t) / N`` (mean) or ``p - t`` (sum): the seeds' ``y - t``, since
    ``-sum_j (t_j / p_j) p_j (1[i = j] - p_i) = p_i sum_j t_j - t_i`` and ``sum_j t_j = 1``.

    Targets: integer labels ``(N,)`` in ``[0, C)`` or probabilities ``(N, C)`` summing to 1.

    Finite for any logits (+-1e4 included). Both results are good to a few ``eps`` in absolute
    terms, not relative ones, as PyTorch's ``cross_entropy`` (a gradient entry below the
    dtype's smallest normal number, 1.2e-38 in float32, is 0): a confident right answer has
    ``log S`` and ``p_t - 1`` near 0, computed as ``log`` of a sum near 1 and as a difference
    (a loss of 2e-9 is 0 in float32, as seed 002's example shows in float64).
    """

    def forward(
        self, outputs: np.ndarray, targets: np.ndarray, sample_weight: ArrayLike | None = None
    ) -> float:
        self._check_outputs(outputs, 2, "(N, C)")
        t = self._class_targets(outputs, targets)
        w = self._weights(outputs, sample_weight)
        # One exp serves both the loss and the gradient: with s = z - max_k z_k and
        # S = sum_k e^(s_k), log p_j = s_j - log S and p_j = e^(s_j) / S.
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        total = p.sum(axis=1, keepdims=True)
        p /= total
        scale = self._weighted_scale(outputs.shape[0], 1, w)
        # Probabilities whose gradient entry would be subnormal become 0: a confident network's
        # p_j / N are subnormal (e^-90 / N in float32), and subnormal numbers make the backward's
        # products 3 to 10 times slower on x86, for a change under 1.2e-38 in float32.
        largest = scale * (1.0 if w is None else float(w.max()))
        np.multiply(p, p >= np.finfo(p.dtype).tiny / largest, out=p)
        log_total = np.log(total)[:, 0]
        if t.ndim == 1:
            rows = np.arange(outputs.shape[0])
            picked = shifted[rows, t]
            p[rows, t] -= 1
        else:
            # sum_j t_j = 1 per row, so -sum_j t_j log p_j = log S - sum_j t_j s_j
            picked = np.einsum("nj,nj->n", t, shifted)
            p -= t
        if w is None:
            value = (float(log_total.sum()) - float(picked.sum())) * scale
        else:
            value = (float(np.dot(w, log_total)) - float(np.dot(w, picked))) * scale
            p *= _rows(w, p)
        p *= outputs.dtype.type(scale)
        self._grad = p
        return value


class CrossEntropy(Loss):
    """Cross-entropy on probabilities ``p`` of shape ``(N, C)`` (after ``Softmax``), unfused.

    Forward:  ``L = -(1/N) sum_n sum_j t_nj log p_nj`` (mean) or without ``1/N`` (sum)
    Backward: ``dL/dp_j = -t_j / p_j / N`` (mean) or ``-t_j / p_j`` (sum)

    It exists to show the seeds' chain ``H(t, softmax(z))`` one factor at a time: with
    ``Softmax`` before it, the product of the two backwards is ``(p - t) / N``. Probabilities
    are clipped below at the dtype's smallest normal number, so a 0 gives a large finite loss
    rather than ``inf`` (87.3 in float32, 708.4 in float64); train with ``SoftmaxCrossEntropy``
    on logits. Away from the clip the value and the gradient are exact to a few ulp.
    """

    def forward(
        self, outputs: np.ndarray, targets: np.ndarray, sample_weight: ArrayLike | None = None
    ) -> float:
        self._check_outputs(outputs, 2, "(N, C)")
        t = self._class_targets(outputs, targets)
        w = self._weights(outputs, sample_weight)
        if t.ndim == 1:
            t = one_hot(t, outputs.shape[1], outputs.dtype)
        p = np.maximum(outputs, np.finfo(outputs.dtype).tiny)
        scale = self._weighted_scale(outputs.shape[0], 1, w)
        terms = t * np.log(p)
        value = -(float(np.sum(terms)) if w is None else _weighted_sum(w, terms)) * scale
        grad = -t / p
        if w is not None:
            grad *= _rows(w, grad)
        grad *= outputs.dtype.type(scale)
        self._grad = grad
        return value


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy on probabilities ``p`` in (0, 1), elementwise, any shape ``(N, ...)``.

    Forward:  ``L = -(1/M) sum_i [t_i log p_i + (1 - t_i) log(1 - p_i)]`` over all ``M``
    elements (mean) or without ``1/M`` (sum)
    Backward: ``dL/dp_i = (p_i - t_i) / (p_i (1 - p_i)) / M``, which after a ``Sigmoid`` becomes
    ``(p - t) / M``.

    ``p`` is clipped into ``[tiny, 1 - eps/2]`` of its dtype so neither logarithm sees 0; inside
    that range the value and the gradient are exact to a few ulp (PyTorch's ``BCELoss`` clips
    each logarithm at -100 and the gradient's denominator at 1e-12 instead). The clip is the
    limit of the unfused pair: after a ``Sigmoid``, ``p`` rounds to 1 from z = 16.6 in float32,
    so ``L`` stops growing at 16.6 for a target 0, and below z = -87.3 ``p`` is under ``tiny``.
    ``SigmoidBinaryCrossEntropy`` on the logits has neither limit.
    Targets have the outputs' shape, values in [0, 1] (0/1 integer labels are converted).
    """

    def forward(
        self, outputs: np.ndarray, targets: np.ndarray, sample_weight: ArrayLike | None = None
    ) -> float:
        self._check_outputs(outputs, None, "(N, ...)")
        t = self._probability_targets(outputs, targets)
        w = self._weights(outputs, sample_weight)
        info = np.finfo(outputs.dtype)
        p = np.clip(outputs, info.tiny, 1 - info.epsneg)
        scale = self._weighted_scale(outputs.shape[0], outputs.size // outputs.shape[0], w)
        terms = t * np.log(p) + (1 - t) * np.log1p(-p)
        value = -(float(np.sum(terms)) if w is None else _weighted_sum(w, terms)) * scale
        grad = (p - t) / (p * (1 - p))
        if w is not None:
            grad *= _rows(w, grad)
        grad *= outputs.dtype.type(scale)
        self._grad = grad
        return value


class SigmoidBinaryCrossEntropy(Loss):
    """Sigmoid and binary cross-entropy fused, on logits ``z`` of any shape ``(N, ...)``.

    Typically ``(N, 1)``, one yes/no output per sample, or ``(N, C)``, C independent yes/no
    labels per sample (multi-label). Targets ``t`` have the logits' shape, values in [0, 1];
    integer or boolean 0/1 labels are converted to the logits' dtype.

    Forward:  ``p = sigmoid(z)``, ``L = -(1/M) sum_i [t_i log p_i + (1 - t_i) log(1 - p_i)]`` over
    all ``M`` elements (mean; for ``(N, 1)`` logits ``M`` is the batch size ``N``) or without
    ``1/M`` (sum), computed as ``L = (1/M) sum_i [max(z_i, 0) - z_i t_i + log(1 + e^-|z_i|)]``
    Backward: ``dL/dz = (sigmoid(z) - t) / M`` (mean) or ``sigmoid(z) - t`` (sum): the seeds'
    ``y - t``, since ``dL/dp = (p - t) / (p (1 - p))`` and ``sigma' = p (1 - p)``
    (``docs/derivations.md`` derives both)

    No logarithm of a rounded probability is taken, so the value is finite and exact to a few
    ulp for any logits (``log1p``; the two terms are both >= 0, added in float64), where the
    unfused ``Sigmoid`` + ``BinaryCrossEntropy`` saturates in float32 above z = 16.6 (``p``
    rounds to 1) and below z = -87.3 (``p`` is clipped at ``tiny``). The gradient uses the
    two-branch sigmoid of ``Sigmoid`` and is written so that for 0/1 targets it is exact to a
    few ulp for logits up to +-1e4 and beyond (``t = 1`` and ``z = 30``: the exact ``-e^-30``,
    where ``sigmoid(z) - 1`` is 0 in float32); targets strictly between 0 and 1 leave it good
    to an absolute ``eps / M`` where ``sigmoid(z)`` is near ``t``. The same numbers as
    PyTorch's ``binary_cross_entropy_with_logits`` with the same reduction.
    """

    def forward(
        self, outputs: np.ndarray, targets: np.ndarray, sample_weight: ArrayLike | None = None
    ) -> float:
        z = self._check_outputs(outputs, None, "(N, ...)")
        t = self._probability_targets(z, targets)
        w = self._weights(z, sample_weight)
        # s = sign(z) and h = (1 + s) / 2 = [z > 0] (1/2 at z = 0) pick the branch without a
        # mask: max(z, 0) - z t = z (h - t), and, with e = e^-|z| and r = e / (1 + e) =
        # sigmoid(-|z|), sigmoid(z) = h - s r (1 - r for z > 0, r for z < 0, 1/2 at z = 0).
        sign = np.sign(z)
        q = sign + 1
        q *= 0.5
        q -= t  # h - t, in [-1, 1]
        e = np.abs(z)
        np.negative(e, out=e)
        np.exp(e, out=e)  # e^-|z| in (0, 1]: never overflows
        softplus = np.log1p(e)  # log(1 + e^-|z|) in [0, log 2]
        # z (h - t) >= 0 and log(1 + e) >= 0: a sum of non-negative terms, nothing cancels
        if w is None:
            total = _sum_of_products(z, q) + float(np.sum(softplus, dtype=np.float64))
        else:
            total = _weighted_sum(w, z, q) + _weighted_sum(w, softplus)
        np.add(e, 1, out=softplus)
        e /= softplus  # r = sigmoid(-|z|)
        e *= sign
        # sigmoid(z) - t = (h - t) - s r: for a target 1 and z > 0 this is -r, not 1 - r - 1,
        # so the gradient keeps its digits where sigmoid(z) rounds to 1
        q -= e
        scale = self._weighted_scale(z.shape[0], z.size // z.shape[0], w)
        if w is not None:
            q *= _rows(w, q)
        q *= z.dtype.type(scale)
        self._grad = q
        return total * scale


class MSELoss(Loss):
    """Squared error, elementwise, any shape ``(N, ...)``; ``(N, C)``: C outputs per sample.

    Forward:  ``E = (1/M) sum_i (O_i - y_i)^2`` over all ``M = N C`` elements (mean, PyTorch's
    ``MSELoss``), or ``E = sum_i (y_i - O_i)^2`` (sum, the seeds' squared error)
    Backward: ``dE/dO_i = -2 (y_i - O_i) / M`` (mean) or ``-2 (y_i - O_i)`` (sum, seed 001's
    ``Delta = -2 (y - O)``)

    Learning rates from the seeds and from Nielsen's book. The mean divides by every element,
    not by the batch: it is the seeds' batch-averaged error ``(1/N) sum_n sum_i (y_ni - O_ni)^2``
    divided by ``C``, and Nielsen's quadratic cost ``(1/2N) sum_n ||y_n - O_n||^2`` times
    ``2/C``. The gradients scale the same way, so ``SGD(lr=eta)`` here takes the seeds' step
    ``alpha`` for ``eta = alpha C`` and Nielsen's step ``eta_N`` for ``eta = eta_N C / 2``
    (``reduction="sum"``: ``eta = alpha / N`` and ``eta_N / (2N)``). With one output (seed
    001's regression) the seeds' ``alpha`` is ``eta`` itself; Nielsen's MNIST network
    (C = 10, ``eta_N = 3``) is ``eta = 15``.

    The value is finite and right whenever the true value fits in float64: the squares are
    added in float64 (a float32 residual of 1e20 squares to inf in float32, to 1e40 here), and
    if even that overflows, the residuals are redone in float64 and divided by the largest
    first. The gradient stays in the outputs' dtype.
    """

    def forward(
        self, outputs: np.ndarray, targets: np.ndarray, sample_weight: ArrayLike | None = None
    ) -> float:
        self._check_outputs(outputs, None, "(N, ...)")
        y = self._same_shape_targets(outputs, targets)
        w = self._weights(outputs, sample_weight)
        residual = outputs - y
        scale = self._weighted_scale(outputs.shape[0], outputs.size // outputs.shape[0], w)
        total = _sum_of_products(residual, residual) if w is None else _weighted_sum(w, residual, residual)
        if math.isfinite(total) or not (np.isfinite(outputs).all() and np.isfinite(y).all()):
            value = total * scale
            if w is not None:
                residual *= _rows(w, residual)
            residual *= outputs.dtype.type(2 * scale)
        else:
            value = _scaled_mean_square(outputs, y, residual, scale, w)
        self._grad = residual
        return value


class PoissonNLLLoss(Loss):
    """Poisson negative log-likelihood on log-rates ``z`` of any shape ``(N, ...)``, counts ``t >= 0``.

    The model predicts the rate ``mu = e^z`` (the exponential is the output's inverse link);
    ``P(t | mu) = mu^t e^-mu / t!``, so ``-log P = mu - t z + log t!``, and ``log t!`` does not
    depend on ``z``: it is left out, as in PyTorch's ``PoissonNLLLoss(log_input=True)``.

    Forward:  ``L = (1/M) sum_i (e^{z_i} - t_i z_i)`` over all ``M`` elements (mean) or without
    ``1/M`` (sum)
    Backward: ``dL/dz = (e^z - t) / M`` (mean) or ``e^z - t`` (sum): predicted rate minus count,
    the output error once more (``docs/derivations.md``)

    Targets have the log-rates' shape: counts, or any non-negative values (rates, frequencies).
    ``e^z`` overflows from z = 88.7 in float32 (709.8 in float64): the value is then ``inf``.
    """

    def forward(
        self, outputs: np.ndarray, targets: np.ndarray, sample_weight: ArrayLike | None = None
    ) -> float:
        z = self._check_outputs(outputs, None, "(N, ...)")
        t = self._same_shape_targets(z, targets)
        # written so that NaN (for which every comparison is False) is refused too
        if t.size and not t.min() >= 0:
            raise ValueError(f"{self}: targets must be counts >= 0, got a minimum of {t.min()}")
        w = self._weights(z, sample_weight)
        rate = np.exp(z)
        if w is None:
            total = float(np.sum(rate, dtype=np.float64)) - _sum_of_products(t, z)
        else:
            total = _weighted_sum(w, rate) - _weighted_sum(w, t, z)
        rate -= t
        if w is not None:
            rate *= _rows(w, rate)
        scale = self._weighted_scale(z.shape[0], z.size // z.shape[0], w)
        rate *= z.dtype.type(scale)
        self._grad = rate
        return total * scale


# Elements per block when the squared error is redone in float64: 512 KiB per temporary.
_BLOCK = 1 << 16


def _scaled_mean_square(
    outputs: np.ndarray, y: np.ndarray, grad: np.ndarray, scale: float, w: np.ndarray | None = None
) -> float:
    """``scale * sum_i w_i (O_i - y_i)^2`` (``w_i`` the weight of element i's sample, 1 without)
    when the plain sum overflowed although O and y are finite.

    That is a float32 residual beyond 3.4e38, or a float64 square or sum beyond 1.8e308. The
    residuals are redone in float64, a block at a time, and with ``b = max_i |O_i - y_i|`` the
    value is ``b (b (scale sum_i ((O_i - y_i) / b)^2))``: every factor is at most the result,
    so it overflows only if the true value does. ``grad`` (the residuals, shape and dtype of
    the outputs) is set to ``2 scale w (O - y)``, computed in float64 and then rounded.
    """
    # o and t may be copies (a rare path); g is a view: grad is the fresh, contiguous O - y
    o, t, g = outputs.reshape(-1), y.reshape(-1), grad.reshape(-1)
    weights = None if w is None else np.repeat(w, o.size // len(w))
    blocks = [slice(start, start + _BLOCK) for start in range(0, o.size, _BLOCK)]
    largest = max(float(np.max(np.abs(o[b].astype(np.float64) - t[b]))) for b in blocks)
    total = 0.0
    with np.errstate(over="ignore"):  # a gradient that does not fit the dtype is inf, as it should be
        for b in blocks:
            r = o[b].astype(np.float64) - t[b]
            if weights is not None:
                g[b] = (r * weights[b]) * (2 * scale)
                r /= largest
                total += float(np.dot(r * weights[b], r))
            else:
                g[b] = r * (2 * scale)
                r /= largest
                total += float(np.dot(r, r))
    if not math.isfinite(largest):  # a float64 residual beyond 1.8e308: so is the true value
        return math.inf
    return largest * (largest * (scale * total))
