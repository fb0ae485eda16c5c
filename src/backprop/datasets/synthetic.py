"""Generated data: the seeds' polynomial regression problem, and random MNIST-shaped batches.

The regression problem searches the polynomials of degree <= 2,
``f_w(x) = w2 x^2 + w1 x + w0``, for the ``w`` minimising ``sum_i (f_w(x_i) - t_i)^2``.
``polynomial`` draws ``(x_i, t_i)`` from such an ``f`` plus Gaussian noise, and
``polynomial_features`` turns ``x`` into the columns ``x, x^2, ...``, so that a
``Linear(degree, 1)`` layer (weight ``(w1, w2, ...)``, bias ``w0``) is exactly ``f_w``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..dtypes import get_default_dtype, resolve_dtype
from ..random import as_generator

__all__ = ["mnist_like", "polynomial", "polynomial_features"]


def polynomial(
    n: int,
    coefficients: Sequence[float] = (0.5, -1.0, 2.0),
    noise: float = 0.1,
    x_range: tuple[float, float] = (-1.0, 1.0),
    seed: int | np.random.Generator | None = 0,
    dtype: DTypeLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of the polynomial ``f(x) = w0 + w1 x + w2 x^2 + ...``.

    ``x_i ~ U(x_range)`` and ``t_i = f(x_i) + noise * e_i`` with ``e_i ~ N(0, 1)``.

    Parameters
    ----------
    n : int
        Number of samples.
    coefficients : sequence of float
        ``(w0, w1, w2, ...)``, lowest power first; the default ``(0.5, -1.0, 2.0)`` is
        ``f(x) = 2 x^2 - x + 0.5``.
    noise : float
        Standard deviation of the Gaussian noise added to ``t`` (0 for none).
    x_range : (float, float)
        ``(low, high)`` of the uniform distribution of ``x``.
    seed : int, numpy.random.Generator or None
        Seed of the draws (see ``backprop.random.as_generator``).
    dtype : float32 or float64, optional
        None means the default dtype (float32 unless changed).

    Returns
    -------
    x : numpy.ndarray
        Shape ``(n, 1)``.
    t : numpy.ndarray
        Shape ``(n, 1)``, the targets.
    """
    dtype = resolve_dtype(dtype, "polynomial")
    n = _check_count("polynomial", n)
    w = np.asarray(coefficients, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(
            f"polynomial: coefficients must be a non-empty sequence (w0, w1, ...), "
            f"got {coefficients!r}"
        )
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"polynomial: noise must be a finite number >= 0, got {noise}")
    low, high = x_range
    if not low < high:
        raise ValueError(f"polynomial: x_range must be (low, high) with low < high, got {x_range}")
    rng = as_generator(seed)
    x = rng.uniform(low, high, size=(n, 1))
    t = np.polynomial.polynomial.polyval(x, w) + noise * rng.standard_normal((n, 1))
    return x.astype(dtype), t.astype(dtype)


def polynomial_features(x: ArrayLike, degree: int) -> np.ndarray:
    """The columns ``x, x^2, ..., x^degree`` of a single feature ``x``.

    With these as inputs, ``Linear(degree, 1)`` computes ``b + sum_k W_k x^k``: a polynomial
    whose constant term is the bias (so there is no column of ones).

    Parameters
    ----------
    x : array_like
        Shape ``(n,)`` or ``(n, 1)``.
    degree : int
        Highest power, at least 1.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, degree)``, column ``k - 1`` holding ``x^k``; x's dtype if it is a float
        array, else the default dtype.
    """
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(
            f"polynomial_features: expected x of shape (n,) or (n, 1), got {x.shape}"
        )
    if isinstance(degree, bool) or not isinstance(degree, Integral) or degree < 1:
        raise ValueError(f"polynomial_features: degree must be an int >= 1, got {degree!r}")
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else get_default_dtype()
    features = np.empty((len(x), degree), dtype=dtype)
    features[:, 0] = x
    for k in range(1, degree):
        np.multiply(features[:, k - 1], features[:, 0], out=features[:, k])
    return features


def mnist_like(
    n: int,
    seed: int | np.random.Generator | None = 0,
    dtype: DTypeLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Random data of MNIST's shape, for benchmarks and smoke tests (nothing to learn).

    Parameters
    ----------
    n : int
        Number of samples.
    seed : int, numpy.random.Generator or None
        Seed of the draws.
    dtype : float32 or float64, optional
        None means the default dtype (float32 unless changed).

    Returns
    -------
    x : numpy.ndarray
        Shape ``(n, 1, 28, 28)``, uniform in [0, 1).
    y : numpy.ndarray
        int64, shape ``(n,)``, uniform over the classes 0..9.
    """
    dtype = resolve_dtype(dtype, "mnist_like")
    n = _check_count("mnist_like", n)
    rng = as_generator(seed)
    x = rng.random((n, 1, 28, 28), dtype=dtype)
    y = rng.integers(0, 10, size=n, dtype=np.int64)
    return x, y


def _check_count(owner: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 0:
        raise ValueError(f"{owner}: n must be an int >= 0, got {n!r}")
    return int(n)
