"""Layer normalisation: each sample's last axes standardised, then scaled and shifted.

Notation: a sample's normalised part holds ``M`` elements ``x_1 .. x_M`` (the product of
``normalized_shape``); ``gamma`` and ``beta`` have that shape.

    mu = (1/M) sum_i x_i        sigma^2 = (1/M) sum_i (x_i - mu)^2        s = sqrt(sigma^2 + eps)
    x_hat_i = (x_i - mu) / s    y_i = gamma_i x_hat_i + beta_i

The statistics are each sample's own, in training and in evaluation alike: unlike BatchNorm
there is nothing to keep between batches, and a batch of one is fine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .. import validation
from ..dtypes import resolve_dtype
from .base import Layer


def layer_norm_forward(
    x: np.ndarray, ndim: int, gamma: np.ndarray | None, beta: np.ndarray | None, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``y``, ``x_hat`` and ``1/s``, normalising over the last ``ndim`` axes of ``x``."""
    axes = tuple(range(x.ndim - ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    x_hat = x - mean
    variance = np.mean(x_hat * x_hat, axis=axes, keepdims=True)
    inverse_std = 1 / np.sqrt(variance + x.dtype.type(eps))
    x_hat *= inverse_std
    y = x_hat if gamma is None else x_hat * gamma + beta
    return y, x_hat, inverse_std


def layer_norm_backward(
    gy: np.ndarray, x_hat: np.ndarray, inverse_std: np.ndarray, gamma: np.ndarray | None, ndim: int
) -> np.ndarray:
    """``dL/dx = (1/s) (g - mean(g) - x_hat mean(g x_hat))`` with ``g = gamma dL/dy``, means over a sample.

    ``dmu/dx_j = 1/M`` and ``ds/dx_j = (x_j - mu) / (M s) = x_hat_j / M``, so from
    ``x_hat_i = (x_i - mu) / s``: ``dx_hat_i/dx_j = (1[i = j] - 1/M - x_hat_i x_hat_j / M) / s``,
    and the chain rule's sum over i, ``sum_i g_i dx_hat_i/dx_j``, is this form
    (``docs/derivations.md``).
    """
    axes = tuple(range(gy.ndim - ndim, gy.ndim))
    g = gy if gamma is None else gy * gamma
    mean_g = g.mean(axis=axes, keepdims=True)
    mean_gx = np.mean(g * x_hat, axis=axes, keepdims=True)
    gx = g - mean_g
    gx -= x_hat * mean_gx
    gx *= inverse_std
    return gx


class LayerNorm(Layer):
    """Layer normalisation over the last axes, ``normalized_shape`` (an int or a tuple), as PyTorch's.

    Forward:  ``x_hat = (x - mu) / sqrt(sigma^2 + eps)`` with ``mu``, ``sigma^2`` each sample's mean
    and (biased) variance over the last ``len(normalized_shape)`` axes; ``y = gamma x_hat + beta``
    Backward: ``dL/dx = (1/s) (g - mean(g) - x_hat mean(g x_hat))`` with ``g = gamma dL/dy`` and
    ``s = sqrt(sigma^2 + eps)`` (means over the sample's normalised elements);
    ``dL/dgamma = sum_n dL/dy x_hat``, ``dL/dbeta = sum_n dL/dy`` (over every axis in front)

    Shapes: x ``(N, ..., *normalized_shape)``, y the same; ``weight`` (gamma, starts at 1) and
    ``bias`` (beta, starts at 0) of ``normalized_shape``, with ``elementwise_affine=True``, in
    ``dtype``; without them the layer takes float32 and float64 alike.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if validation.is_integer(normalized_shape) else normalized_shape
        if (
            not isinstance(shape, (tuple, list))
            or not shape
            or not all(validation.is_integer(size) and size >= 1 for size in shape)
        ):
            raise ValueError(
                f"LayerNorm: normalized_shape must be a positive integer or a sequence of them, got"
                f" {normalized_shape!r}"
            )
        self.normalized_shape = tuple(int(size) for size in shape)
        self.eps = validation.positive("LayerNorm", "eps", eps)
        affine = validation.flag("LayerNorm", "elementwise_affine", elementwise_affine)
        self._dtype = resolve_dtype(dtype, "LayerNorm")
        if affine:
            self.add_param("weight", np.ones(self.normalized_shape, self._dtype))
            self.add_param("bias", np.zeros(self.normalized_shape, self._dtype))
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        ndim = len(self.normalized_shape)
        layout = "(N, ..., " + ", ".join(map(str, self.normalized_shape)) + ")"
        self.check_input(x, max(getattr(x, "ndim", ndim + 1), ndim + 1), layout, self.normalized_shape)
        y, x_hat, inverse_std = layer_norm_forward(
            x, ndim, self.params.get("weight"), self.params.get("bias"), self.eps
        )
        self._cache = (x_hat, inverse_std)
        return y

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        cache = self._cache
        self._check_grad(gy, None if cache is None else cache[0].shape)
        assert cache is not None  # _check_grad raised otherwise
        x_hat, inverse_std = cache
        ndim = len(self.normalized_shape)
        if self.params:
            batch_axes = tuple(range(gy.ndim - ndim))
            np.sum(gy * x_hat, axis=batch_axes, out=self.grad_buffer("weight"))
            np.sum(gy, axis=batch_axes, out=self.grad_buffer("bias"))
        if not input_grad:
            return None
        return layer_norm_backward(gy, x_hat, inverse_std, self.params.get("weight"), ndim)

    def config(self) -> dict[str, Any]:
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": bool(self.params),
            "dtype": np.dtype(self._dtype).name,
        }

    def __str__(self) -> str:
        return f"LayerNorm({', '.join(map(str, self.normalized_shape))})"
