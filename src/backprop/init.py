"""Initialisers: each fills an array in place, draws from ``rng`` and returns the array.

``fan_in`` and ``fan_out`` follow PyTorch: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``.

=====================  ==========================================================
``zeros(w)``           ``w = 0``
``constant(w, c)``     ``w = c``
``uniform(w, a, b)``   ``w ~ U(a, b)``
``normal(w, m, s)``    ``w ~ N(m, s^2)``
``xavier_uniform``     ``w ~ U(-r, r)``, ``r = gain sqrt(6 / (fan_in + fan_out))`` (Glorot, 2010)
``xavier_normal``      ``w ~ N(0, s^2)``, ``s = gain sqrt(2 / (fan_in + fan_out))``
``kaiming_uniform``    ``w ~ U(-r, r)``, ``r = gain sqrt(3 / fan)`` (He, 2015)
``kaiming_normal``     ``w ~ N(0, s^2)``, ``s = gain / sqrt(fan)``
=====================  ==========================================================

For Kaiming, ``gain = sqrt(2 / (1 + a^2))`` (``a`` the leaky-ReLU slope, 0 for ReLU) and
``fan`` is ``fan_in`` (``mode="fan_in"``, the default) or ``fan_out``. PyTorch's default for
Linear and Conv2d weights is ``kaiming_uniform`` with ``a = sqrt(5)``, which is
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; their biases are drawn from the same interval.
"""

from __future__ import annotations

import math

import numpy as np

from .random import as_generator

__all__ = [
    "calculate_fans",
    "constant",
    "kaiming_normal",
    "kaiming_uniform",
    "normal",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]


def calculate_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``; a vector's is its size."""
    if len(shape) == 0:
        raise ValueError("init: cannot compute fans of a scalar (shape ())")
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def zeros(w: np.ndarray) -> np.ndarray:
    """``w = 0``."""
    w[...] = 0
    return w


def constant(w: np.ndarray, value: float) -> np.ndarray:
    """``w = value``."""
    w[...] = value
    return w


def uniform(
    w: np.ndarray, low: float = 0.0, high: float = 1.0, rng: int | np.random.Generator | None = None
) -> np.ndarray:
    """``w ~ U(low, high)``."""
    w[...] = as_generator(rng).uniform(low, high, size=w.shape)
    return w


def normal(
    w: np.ndarray, mean: float = 0.0, std: float = 1.0, rng: int | np.random.Generator | None = None
) -> np.ndarray:
    """``w ~ N(mean, std^2)``."""
    w[...] = as_generator(rng).normal(mean, std, size=w.shape)
    return w


def xavier_uniform(
    w: np.ndarray, gain: float = 1.0, rng: int | np.random.Generator | None = None
) -> np.ndarray:
    """Glorot: ``w ~ U(-r, r)`` with ``r = gain sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fans(w.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(w, -bound, bound, rng)


def xavier_normal(
    w: np.ndarray, gain: float = 1.0, rng: int | np.random.Generator | None = None
) -> np.ndarray:
    """Glorot: ``w ~ N(0, s^2)`` with ``s = gain sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fans(w.shape)
    return normal(w, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def _kaiming_std(shape: tuple[int, ...], a: float, mode: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return math.sqrt(2.0 / (1.0 + a * a)) / math.sqrt(fan)


def kaiming_uniform(
    w: np.ndarray,
    a: float = 0.0,
    mode: str = "fan_in",
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """He: ``w ~ U(-r, r)`` with ``r = sqrt(3) gain / sqrt(fan)``, ``gain = sqrt(2/(1+a^2))``."""
    bound = math.sqrt(3.0) * _kaiming_std(w.shape, a, mode)
    return uniform(w, -bound, bound, rng)


def kaiming_normal(
    w: np.ndarray,
    a: float = 0.0,
    mode: str = "fan_in",
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """He: ``w ~ N(0, s^2)`` with ``s = gain / sqrt(fan)``, ``gain = sqrt(2/(1+a^2))``."""
    return normal(w, 0.0, _kaiming_std(w.shape, a, mode), rng)


def default_weight_and_bias(
    weight: np.ndarray, bias: np.ndarray | None, rng: np.random.Generator
) -> None:
    """PyTorch's default for Linear and Conv2d: both ``~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))``."""
    kaiming_uniform(weight, a=math.sqrt(5.0), rng=rng)
    if bias is not None:
        bound = 1.0 / math.sqrt(calculate_fans(weight.shape)[0])
        uniform(bias, -bound, bound, rng)
