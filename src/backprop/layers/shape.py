"""Flatten: the bridge from convolutional feature maps ``(N, C, H, W)`` to Linear's ``(N, D)``."""

from __future__ import annotations

import math

import numpy as np

from .base import Layer


def flatten_forward(x: np.ndarray) -> np.ndarray:
    """``y[b, k] = x[b, d_1, ..., d_m]`` with ``k`` the row-major index of ``(d_1, ..., d_m)``."""
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


def flatten_backward(gy: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """``dL/dx[b, d_1, ..., d_m] = dL/dy[b, k]``: the Jacobian is the identity, reshaped."""
    return gy.reshape(x_shape)


class Flatten(Layer):
    """Flatten every axis but the batch axis: ``(N, d_1, ..., d_m) -> (N, d_1 ... d_m)``.

    Forward:  ``y[b, k] = x[b, d_1, ..., d_m]``, ``k = ((d_1 D_2 + d_2) D_3 + ...) D_m + d_m``
    Backward: ``dL/dx[b, d_1, ..., d_m] = dL/dy[b, k]`` (a reshape back to the input's shape)

    The row-major order matches PyTorch's ``nn.Flatten``, so a Linear layer after it sees the
    features in the same order as there. The output is a view of the input when the input's
    memory layout allows it, otherwise a copy. No parameters: float32 and float64 both work.
    """

    def __init__(self) -> None:
        super().__init__()
        self._x_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x, max(getattr(x, "ndim", 2), 2), "(N, ...) with at least 2 axes")
        self._x_shape = x.shape
        return flatten_forward(x)

    def backward(self, gy: np.ndarray) -> np.ndarray:
        x_shape = self._x_shape
        expected = None if x_shape is None else (x_shape[0], math.prod(x_shape[1:]))
        self._check_grad(gy, expected)
        return flatten_backward(gy, x_shape)

    def __str__(self) -> str:
        return "Flatten()"
