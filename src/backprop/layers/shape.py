"""Flatten: the bridge from convolutional feature maps ``(N, C, H, W)`` to Linear's ``(N, D)``."""

from __future__ import annotations

import math

import numpy as np

from .base import Layer


def flatten_forward(x: np.ndarray) -> np.ndarray:
    """``y[b, k] = x[b, d_1, ..., d_m]`` with ``k`` the row-major index of ``(d_1, ..., d_m)``."""
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


def flatten_backward(gy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dL/dx[b, d_1, ..., d_m] = dL/dy[b, k]``: the Jacobian is the identity, reshaped.

    The gradient takes the memory layout of ``x``: a view of ``gy`` when ``x`` is C-ordered,
    else a copy in ``x``'s order (channels-last maps from a convolution), so that the layers
    before read it in the same order as their own arrays.
    """
    if x.flags.c_contiguous:
        return gy.reshape(x.shape)
    gx = np.empty_like(x, dtype=gy.dtype)
    gx[...] = gy.reshape(x.shape)
    return gx


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
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, max(getattr(x, "ndim", 2), 2), "(N, ...) with at least 2 axes")
        self._x = x
        return flatten_forward(x)

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self._x
        expected = None if x is None else (x.shape[0], math.prod(x.shape[1:]))
        self._check_grad(gy, expected)
        assert x is not None  # _check_grad raised otherwise
        return flatten_backward(gy, x) if input_grad else None

    def __str__(self) -> str:
        return "Flatten()"
