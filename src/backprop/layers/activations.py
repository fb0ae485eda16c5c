"""Elementwise activations and Softmax, each with its derivative written from the output.

Writing ``sigma'`` from the forward output ``y`` (as scikit-learn's ``_base.py`` does) means
backward needs only ``y``: ``relu' = [y > 0]``, ``sigmoid' = y (1 - y)``, ``tanh' = 1 - y^2``.
The Jacobian of an elementwise function is diagonal, so the chain rule
``dL/dx_j = sum_i dL/dy_i dy_i/dx_j`` reduces to the Hadamard product ``dL/dx = dL/dy * f'``.
"""

from __future__ import annotations

import numpy as np

from .base import Layer


class _Elementwise(Layer):
    """Shared plumbing: any shape ``(N, ...)`` in, the same shape out; keeps ``y``."""

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x, max(getattr(x, "ndim", 1), 1), "(N, ...)")
        self._y = self._forward(x)
        return self._y

    def backward(self, gy: np.ndarray) -> np.ndarray:
        y = self._y
        self._check_grad(gy, None if y is None else y.shape)
        return self._backward(gy, y)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def relu_forward(x: np.ndarray) -> np.ndarray:
    """``y = max(x, 0)``."""
    return np.maximum(x, 0)


def relu_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = dL/dy * [x > 0]``, and ``[x > 0] = [y > 0]``."""
    return gy * (y > 0)


class ReLU(_Elementwise):
    """Rectified linear unit, elementwise, any shape.

    Forward:  ``y = max(x, 0)``
    Backward: ``dL/dx = dL/dy * [x > 0]`` (the derivative at the kink ``x = 0`` is taken as 0)
    """

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return relu_forward(x)

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        return relu_backward(gy, y)


def sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """``y = 1 / (1 + e^-x)``, computed as ``(1 + tanh(x / 2)) / 2`` so no ``exp`` overflows."""
    y = np.tanh(x * 0.5)
    y += 1
    y *= 0.5
    return y


def sigmoid_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = dL/dy * y (1 - y)``."""
    return gy * y * (1 - y)


class Sigmoid(_Elementwise):
    """Logistic sigmoid, elementwise, any shape.

    Forward:  ``y = 1 / (1 + e^-x)``
    Backward: ``dL/dx = dL/dy * y (1 - y)`` (seed 001: ``sigma' = O (1 - O)``)
    """

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return sigmoid_forward(x)

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        return sigmoid_backward(gy, y)


def tanh_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = dL/dy * (1 - y^2)``."""
    return gy * (1 - y * y)


class Tanh(_Elementwise):
    """Hyperbolic tangent, elementwise, any shape.

    Forward:  ``y = tanh(x)``
    Backward: ``dL/dx = dL/dy * (1 - y^2)``
    """

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        return tanh_backward(gy, y)


def softmax_forward(x: np.ndarray) -> np.ndarray:
    """``y_i = e^(x_i - m) / sum_k e^(x_k - m)`` over the last axis, ``m = max_k x_k``.

    Subtracting ``m`` changes nothing mathematically and keeps every exponent <= 0, so
    logits of 1e4 do not overflow.
    """
    y = x - x.max(axis=-1, keepdims=True)
    np.exp(y, out=y)
    y /= y.sum(axis=-1, keepdims=True)
    return y


def softmax_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = y * (dL/dy - sum_i dL/dy_i y_i)``: the Jacobian ``diag(y) - y y^T`` applied.

    ``(diag(y) - y y^T)^T g = y * g - y (y . g)``, so the ``C x C`` matrix is never built.
    """
    return y * (gy - np.sum(gy * y, axis=-1, keepdims=True))


class Softmax(_Elementwise):
    """Softmax over the last axis, any shape ``(N, ..., C)``.

    Forward:  ``y_i = e^(x_i) / sum_k e^(x_k)``
    Backward: ``dy_i/dx_j = y_i (1[i = j] - y_j)``, so ``dL/dx = y * (dL/dy - (dL/dy . y))``

    Followed by ``CrossEntropy`` it is the seeds' unfused form; ``SoftmaxCrossEntropy`` on the
    logits is the fused one with gradient ``y - t``, cheaper and exact for any logits.
    """

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return softmax_forward(x)

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        return softmax_backward(gy, y)
