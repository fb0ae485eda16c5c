"""Batch normalisation: each channel standardised over the batch, then scaled and shifted.

Notation: a channel's values over the batch (and, for feature maps, over the map) are
``x_1 .. x_M``; ``gamma``, ``beta`` and the running statistics hold one number per channel.

    mu = (1/M) sum_i x_i      sigma^2 = (1/M) sum_i (x_i - mu)^2      s = sqrt(sigma^2 + eps)
    x_hat_i = (x_i - mu) / s  y_i = gamma x_hat_i + beta

In training the statistics are the batch's, and every ``x_hat_i`` depends on every ``x_j`` of
the channel: the backward (``docs/derivations.md`` has the chain rule through ``mu`` and
``sigma^2``) is, with ``g = dL/dy``,

    dL/dx_i = (gamma / (M s)) (M g_i - sum_j g_j - x_hat_i sum_j g_j x_hat_j)

In evaluation the running statistics, kept during training, are constants:
``dL/dx = gamma g / sqrt(running_var + eps)``. They are state, not parameters: ``buffers``
(``running_mean``, ``running_var``), saved in model files and checkpoints, never touched by an
optimiser.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .. import validation
from ..dtypes import resolve_dtype
from .base import Layer
from .channels import channel_sum, per_channel


def batch_norm_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each channel's mean and biased variance ``(C,)`` over every other axis of ``x``, and ``x - mu``."""
    count = x.size // x.shape[1]
    mean = channel_sum(x) / x.dtype.type(count)
    centred = x - per_channel(mean, x)
    return mean, channel_sum(centred, centred) / x.dtype.type(count), centred


def batch_norm_backward(
    gy: np.ndarray,
    centred: np.ndarray,
    inverse_std: np.ndarray,
    scale: np.ndarray,
    sum_gy: np.ndarray,
    sum_gy_x_hat: np.ndarray,
) -> np.ndarray:
    """``dL/dx = (gamma / (M s)) (M g - sum g - x_hat sum(g x_hat))`` per channel, ``g = dL/dy``.

    ``x_hat = centred / s`` is never formed: ``x_hat c = centred (c / s)`` for the per-channel
    ``c``. ``scale = gamma / s`` and the two sums (the parameter gradients' own) are per channel,
    so the input gradient is three passes: ``scale g``, minus a per-channel constant, minus
    ``centred`` times another.
    """
    count = gy.dtype.type(gy.size // gy.shape[1])
    gx = gy * per_channel(scale, gy)
    gx -= per_channel(scale * sum_gy / count, gy)
    gx -= centred * per_channel(scale * inverse_std * sum_gy_x_hat / count, centred)
    return gx


class _BatchNorm(Layer):
    """What BatchNorm1d and BatchNorm2d share; they differ in the input's rank only."""

    ranks: tuple[int, ...] = ()
    layout: str = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.num_features = validation.positive_integer(owner, "num_features", num_features)
        self.eps = validation.positive(owner, "eps", eps)
        if momentum is not None and not (validation.is_number(momentum) and 0 <= momentum <= 1):
            raise ValueError(f"{owner}: momentum must be a number in [0, 1] or None, got {momentum!r}")
        self.momentum = None if momentum is None else float(momentum)
        affine = validation.flag(owner, "affine", affine)
        self.track_running_stats = validation.flag(owner, "track_running_stats", track_running_stats)
        self._dtype = resolve_dtype(dtype, owner)
        if affine:
            self.add_param("weight", np.ones(self.num_features, self._dtype))
            self.add_param("bias", np.zeros(self.num_features, self._dtype))
        self.num_batches_tracked = 0
        if self.track_running_stats:
            self.buffers["running_mean"] = np.zeros(self.num_features, self._dtype)
            self.buffers["running_var"] = np.ones(self.num_features, self._dtype)
        self._cache: tuple[np.ndarray, np.ndarray, bool] | None = None

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        ndim = getattr(x, "ndim", 0)
        self.check_input(x, ndim if ndim in self.ranks else self.ranks[0], self.layout)
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{self}: expected {self.num_features} channels (axis 1), got input of shape {x.shape}"
            )
        batch = self.training or not self.track_running_stats
        if batch:
            count = x.size // self.num_features
            if count < 2:
                raise ValueError(
                    f"{self}: expected more than 1 value per channel in training, got input of shape"
                    f" {x.shape} (normalising one value gives 0; use a batch of 2 or more, or eval())"
                )
            mean, variance, centred = batch_norm_statistics(x)
            if self.training and self.track_running_stats:
                self._update_running(mean, variance, count)
        else:
            mean, variance = self.buffers["running_mean"], self.buffers["running_var"]
            centred = x - per_channel(mean, x)
        inverse_std = 1 / np.sqrt(variance + x.dtype.type(self.eps))
        # x_hat = centred / s is kept as centred and 1 / s: y = centred (gamma / s) + beta in two passes
        self._cache = (centred, inverse_std, batch)
        scale = inverse_std * self.params["weight"] if self.params else inverse_std
        y = centred * per_channel(scale, centred)
        if self.params:
            y += per_channel(self.params["bias"], y)
        return y

    def _update_running(self, mean: np.ndarray, variance: np.ndarray, count: int) -> None:
        """``r <- (1 - m) r + m b`` with the batch's mean and unbiased variance ``sigma^2 M / (M - 1)``
        (PyTorch's ``momentum``; ``None``: the cumulative average, ``m = 1 / batches so far``)."""
        self.num_batches_tracked += 1
        m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        dtype = mean.dtype.type
        running_mean, running_var = self.buffers["running_mean"], self.buffers["running_var"]
        running_mean *= dtype(1 - m)
        running_mean += dtype(m) * mean
        running_var *= dtype(1 - m)
        running_var += dtype(m * count / (count - 1)) * variance

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        cache = self._cache
        self._check_grad(gy, None if cache is None else cache[0].shape)
        assert cache is not None  # _check_grad raised otherwise
        centred, inverse_std, batch = cache
        sum_gy = channel_sum(gy)
        sum_gy_x_hat = channel_sum(gy, centred) * inverse_std
        if self.params:
            np.copyto(self.grad_buffer("weight"), sum_gy_x_hat)
            np.copyto(self.grad_buffer("bias"), sum_gy)
        if not input_grad:
            return None
        scale = inverse_std * self.params["weight"] if self.params else inverse_std
        if batch:
            return batch_norm_backward(gy, centred, inverse_std, scale, sum_gy, sum_gy_x_hat)
        return gy * per_channel(scale, gy)  # the running statistics are constants

    def extra_state(self) -> dict[str, Any]:
        """The running statistics and the count of batches: a resumed run goes on with them."""
        if not self.track_running_stats:
            return {}
        return {
            "running_mean": self.buffers["running_mean"].copy(),
            "running_var": self.buffers["running_var"].copy(),
            "num_batches_tracked": self.num_batches_tracked,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        expected = set(self.extra_state())
        if set(state) != expected:
            raise ValueError(f"{self}: expected extra state {sorted(expected)}, got {sorted(state)}")
        if not state:
            return
        for name in ("running_mean", "running_var"):
            if np.shape(state[name]) != (self.num_features,):
                raise ValueError(
                    f"{self}: {name} must have shape ({self.num_features},), got {np.shape(state[name])}"
                )
        count = state["num_batches_tracked"]
        if not validation.is_integer(count) or count < 0:
            raise ValueError(f"{self}: num_batches_tracked must be an integer >= 0, got {count!r}")
        for name in ("running_mean", "running_var"):
            np.copyto(self.buffers[name], state[name])
        self.num_batches_tracked = int(count)

    def config(self) -> dict[str, Any]:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": bool(self.params),
            "track_running_stats": self.track_running_stats,
            "dtype": self.dtype.name,
        }

    def __str__(self) -> str:
        return f"{type(self).__name__}({self.num_features})"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` features (or ``(N, C, L)`` sequences), each of the C channels
    over the batch (and L).

    Forward:  training ``x_hat = (x - mu_B) / sqrt(sigma_B^2 + eps)`` with the batch's mean and
    biased variance per channel, ``y = gamma x_hat + beta``; the running statistics move by
    ``momentum`` (PyTorch's meaning: ``r <- (1 - m) r + m b``, the variance unbiased);
    ``eval()``: the running statistics in place of the batch's
    Backward: training ``dL/dx = (gamma / (M s)) (M g - sum g - x_hat sum(g x_hat))``, ``g = dL/dy``,
    sums over the channel's ``M`` values; ``eval()``: ``dL/dx = gamma g / sqrt(running_var + eps)``;
    ``dL/dgamma = sum g x_hat``, ``dL/dbeta = sum g``

    In training a channel needs more than one value (a batch of 1 is refused, as in PyTorch).
    Parameters ``weight`` (gamma, starts at 1) and ``bias`` (beta, 0) with ``affine``; buffers
    ``running_mean`` (0) and ``running_var`` (1) with ``track_running_stats``.
    """

    ranks = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` feature maps, each channel over the batch and the map.

    The same formulas as ``BatchNorm1d``, the ``M = N H W`` values of a channel taken together.
    Channels-last maps keep their memory layout.
    """

    ranks = (4,)
    layout = "(N, C, H, W)"
