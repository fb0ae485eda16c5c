"""Loss functions: ``value = loss(outputs, targets)`` is a float, ``loss.backward()`` is dL/d(outputs).

``reduction="mean"`` averages over the batch (``N`` samples; MSELoss and BinaryCrossEntropy
average over every element, as PyTorch does), ``reduction="sum"`` adds, as the seeds'
``L(w; D) = sum_i err(f_w(x_i), t_i)`` does. The gradient of the mean is the gradient of the
sum divided by the same count (seed 001: "divide dE/dO by the number of samples").

Three pairs share the output error ``delta = outputs - targets`` (times the reduction's
factor): softmax + cross-entropy (``SoftmaxCrossEntropy``), sigmoid + binary cross-entropy and
identity + squared error (up to the factor 2). The fused ``SoftmaxCrossEntropy`` relies on it.
"""

from __future__ import annotations

import numpy as np

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

    def __call__(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        return self.forward(outputs, targets)

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
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

    def _scale(self, count: int) -> float:
        return 1.0 / count if self.reduction == "mean" else 1.0


class SoftmaxCrossEntropy(Loss):
    """Softmax and cross-entropy fused, on logits ``z`` of shape ``(N, C)``.

    Forward:  ``p = softmax(z)``, ``L = -(1/N) sum_n sum_j t_nj log p_nj`` (mean) or without
    ``1/N`` (sum); ``log p`` comes from the log-sum-exp, so no probability is ever ``log(0)``.
    Backward: ``dL/dz = (p - t) / N`` (mean) or ``p - t`` (sum): the seeds' ``y - t``, since
    ``-sum_j (t_j / p_j) p_j (1[i = j] - p_i) = p_i sum_j t_j - t_i`` and ``sum_j t_j = 1``.

    Targets: integer labels ``(N,)`` in ``[0, C)`` or probabilities ``(N, C)`` summing to 1.
    """

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        self._check_outputs(outputs, 2, "(N, C)")
        t = self._class_targets(outputs, targets)
        # One exp serves both the loss and the gradient: with s = z - max_k z_k and
        # S = sum_k e^(s_k), log p_j = s_j - log S and p_j = e^(s_j) / S.
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        total = p.sum(axis=1, keepdims=True)
        p /= total
        scale = self._scale(outputs.shape[0])
        log_total = float(np.log(total).sum())
        if t.ndim == 1:
            rows = np.arange(outputs.shape[0])
            value = (log_total - float(shifted[rows, t].sum())) * scale
            p[rows, t] -= 1
        else:
            # sum_j t_j = 1 per row, so -sum_j t_j log p_j = log S - sum_j t_j s_j
            value = (log_total - float(np.sum(t * shifted))) * scale
            p -= t
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
    rather than ``inf``; train with ``SoftmaxCrossEntropy`` on logits.
    """

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        self._check_outputs(outputs, 2, "(N, C)")
        t = self._class_targets(outputs, targets)
        if t.ndim == 1:
            t = one_hot(t, outputs.shape[1], outputs.dtype)
        p = np.maximum(outputs, np.finfo(outputs.dtype).tiny)
        scale = self._scale(outputs.shape[0])
        value = -float(np.sum(t * np.log(p))) * scale
        grad = -t / p
        grad *= outputs.dtype.type(scale)
        self._grad = grad
        return value


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy on probabilities ``p`` in (0, 1), elementwise, any shape ``(N, ...)``.

    Forward:  ``L = -(1/M) sum_i [t_i log p_i + (1 - t_i) log(1 - p_i)]`` over all ``M``
    elements (mean) or without ``1/M`` (sum)
    Backward: ``dL/dp_i = (p_i - t_i) / (p_i (1 - p_i)) / M``, which after a ``Sigmoid`` becomes
    ``(p - t) / M``.

    ``p`` is clipped into ``[tiny, 1 - eps/2]`` of its dtype so neither logarithm sees 0.
    Targets have the outputs' shape, values in [0, 1].
    """

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        self._check_outputs(outputs, None, "(N, ...)")
        t = self._same_shape_targets(outputs, targets)
        if t.min() < 0 or t.max() > 1:
            raise ValueError(f"{self}: targets must lie in [0, 1], got values in [{t.min()}, {t.max()}]")
        info = np.finfo(outputs.dtype)
        p = np.clip(outputs, info.tiny, 1 - info.epsneg)
        scale = self._scale(outputs.size)
        value = -float(np.sum(t * np.log(p) + (1 - t) * np.log1p(-p))) * scale
        grad = (p - t) / (p * (1 - p))
        grad *= outputs.dtype.type(scale)
        self._grad = grad
        return value


class MSELoss(Loss):
    """Squared error, elementwise, any shape ``(N, ...)``.

    Forward:  ``E = (1/M) sum_i (O_i - y_i)^2`` over all ``M`` elements (mean), or
    ``E = sum_i (y_i - O_i)^2`` (sum, the seeds' squared error)
    Backward: ``dE/dO_i = -2 (y_i - O_i) / M`` (mean) or ``-2 (y_i - O_i)`` (sum, seed 001's
    ``Delta = -2 (y - O)``)
    """

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        self._check_outputs(outputs, None, "(N, ...)")
        y = self._same_shape_targets(outputs, targets)
        residual = outputs - y
        scale = self._scale(outputs.size)
        value = float(np.sum(residual * residual)) * scale
        residual *= outputs.dtype.type(2 * scale)
        self._grad = residual
        return value
