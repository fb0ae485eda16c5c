"""Seeded, reproducible splits of a data set into training, validation and test parts.

The same ``seed`` and the same data always give the same split. With integer class labels
the split is stratified by default: each part keeps the class proportions of the whole, to
within one sample per class, which matters for small sets like the 1,797 digits.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike

from ..random import as_generator

__all__ = ["train_test_split", "train_val_test_split"]

Pair = tuple[np.ndarray, np.ndarray]


def train_val_test_split(
    x: ArrayLike,
    y: ArrayLike,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int | np.random.Generator | None = 0,
    stratify: bool | None = None,
) -> tuple[Pair, Pair, Pair]:
    """Split ``(x, y)`` into shuffled training, validation and test parts.

    Parameters
    ----------
    x : array_like, shape ``(N, ...)``
        Inputs, one sample per row (first axis).
    y : array_like, shape ``(N, ...)``
        Targets, one per sample.
    val_fraction, test_fraction : float
        Share of the samples for validation and for test, each in [0, 1) with a sum below 1.
        Each part gets ``round(fraction * N)`` samples, at least one when the fraction is
        positive; training gets the rest.
    seed : int, numpy.random.Generator or None
        Seed of the shuffle (see ``backprop.random.as_generator``); None draws a fresh one.
    stratify : bool or None
        True splits each class of ``y`` (which must be 1-D) in the same proportions, False
        shuffles all samples together; None, the default, stratifies when ``y`` is 1-D and
        holds integers (class labels).

    Returns
    -------
    (x_train, y_train), (x_val, y_val), (x_test, y_test) : tuple of numpy.ndarray pairs
        New arrays, each part in shuffled order; the parts are disjoint and together hold
        every sample once. ``x_val`` is empty (``(0, ...)``) when ``val_fraction`` is 0.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in length, a fraction is out of range, or nothing is left
        to train on.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"train_val_test_split: x and y need a sample axis, got shapes {x.shape} and {y.shape}"
        )
    n = len(x)
    if len(y) != n:
        raise ValueError(
            f"train_val_test_split: x and y must hold the same number of samples, "
            f"got {n} and {len(y)}"
        )
    _check_fraction("val_fraction", val_fraction)
    _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            "train_val_test_split: val_fraction + test_fraction must be below 1 to leave "
            f"samples to train on, got {val_fraction} + {test_fraction} = "
            f"{val_fraction + test_fraction}"
        )
    n_val = _count(val_fraction, n)
    n_test = _count(test_fraction, n)
    if n - n_val - n_test < 1:
        raise ValueError(
            f"train_val_test_split: {n} samples, {n_val} for validation and {n_test} for test "
            "leave none to train on"
        )
    if stratify is None:
        stratify = y.ndim == 1 and (np.issubdtype(y.dtype, np.integer) or y.dtype == bool)
    elif stratify and y.ndim != 1:
        raise ValueError(
            f"train_val_test_split: stratify=True needs 1-D class labels y, got shape {y.shape}"
        )

    rng = as_generator(seed)
    if stratify:
        train, val, test = _stratified_indices(y, n_val, n_test, rng)
    else:
        order = rng.permutation(n)
        test, val, train = np.split(order, [n_test, n_test + n_val])
    return (x[train], y[train]), (x[val], y[val]), (x[test], y[test])


def train_test_split(
    x: ArrayLike,
    y: ArrayLike,
    test_fraction: float = 0.2,
    seed: int | np.random.Generator | None = 0,
    stratify: bool | None = None,
) -> tuple[Pair, Pair]:
    """Split ``(x, y)`` into shuffled training and test parts.

    ``train_val_test_split`` with ``val_fraction=0``; see it for the arguments. Unlike
    scikit-learn's function of the same name, it returns two pairs,
    ``(x_train, y_train), (x_test, y_test)``, not four arrays.
    """
    train, _, test = train_val_test_split(x, y, 0.0, test_fraction, seed, stratify)
    return train, test


def _check_fraction(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"train_val_test_split: {name} must be a number, got {value!r}")
    # numbers.Real promises only < and <=, so the bounds are written with <.
    if not math.isfinite(value) or value < 0 or not value < 1:
        raise ValueError(f"train_val_test_split: {name} must lie in [0, 1), got {value}")


def _count(fraction: float, n: int) -> int:
    """``round(fraction * n)`` (halves up), at least 1 when the fraction is positive."""
    count = math.floor(fraction * n + 0.5)
    return max(count, 1) if fraction > 0 else 0


def _stratified_indices(
    y: np.ndarray, n_val: int, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test indices, each class split in the proportions of the whole."""
    _, label = np.unique(y, return_inverse=True)
    label = label.reshape(-1)
    counts = np.bincount(label)
    test_counts = _apportion(counts, n_test, counts, rng)
    val_counts = _apportion(counts, n_val, counts - test_counts, rng)

    # Shuffle, then group by class (stable sort keeps the shuffle within each class); the
    # first test_counts[c] samples of class c go to test, the next val_counts[c] to val.
    shuffled = rng.permutation(len(y))
    order = shuffled[np.argsort(label[shuffled], kind="stable")]
    label_of = label[order]
    rank = np.arange(len(y)) - np.repeat(np.cumsum(counts) - counts, counts)
    in_test = rank < test_counts[label_of]
    in_val = ~in_test & (rank < test_counts[label_of] + val_counts[label_of])
    in_train = ~(in_test | in_val)
    train, val, test = (rng.permutation(order[mask]) for mask in (in_train, in_val, in_test))
    return train, val, test


def _apportion(
    counts: np.ndarray, total: int, capacity: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Share ``total`` among classes in proportion to ``counts``, none above its capacity.

    Largest remainder: each class gets the floor of its quota, then the classes with the
    largest fractional parts (ties in random order) one more each until ``total`` is met.
    """
    quota = counts * (total / counts.sum())
    share = np.minimum(np.floor(quota).astype(np.int64), capacity)
    priority = np.lexsort((rng.random(len(counts)), -(quota - share)))
    missing = total - int(share.sum())
    while missing > 0:  # at most a few rounds: sum(capacity) >= total always holds here
        chosen = [c for c in priority if share[c] < capacity[c]][:missing]
        share[chosen] += 1
        missing -= len(chosen)
    return share
