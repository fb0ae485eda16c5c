"""The 8x8 handwritten digits that ship with scikit-learn: 1,797 images, no download.

A small, real stand-in for MNIST (the UCI "optical recognition of handwritten digits" test
set): each image is an 8x8 grid of counts 0..16, scaled here to [0, 1].
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from ..dtypes import resolve_dtype

__all__ = ["load_digits"]


def load_digits(
    flatten: bool = False,
    dtype: DTypeLike | None = None,
    n_class: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's 8x8 digits, pixels scaled to [0, 1].

    Parameters
    ----------
    flatten : bool
        False (the default) gives images ``(N, 1, 8, 8)`` for convolutional layers, True
        gives vectors ``(N, 64)`` for ``Linear(64, ...)``.
    dtype : float32 or float64, optional
        dtype of the images; None means the default dtype (float32 unless changed with
        ``backprop.set_default_dtype``).
    n_class : int
        Keep only the digits ``0 .. n_class - 1`` (1 to 10); all ten by default.

    Returns
    -------
    images : numpy.ndarray
        ``(N, 1, 8, 8)`` or ``(N, 64)``, values ``count / 16`` in [0, 1]; N = 1,797 for ten
        classes.
    labels : numpy.ndarray
        int64, shape ``(N,)``, the digit each image shows.
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    dtype = resolve_dtype(dtype, "load_digits")
    if isinstance(n_class, bool) or not isinstance(n_class, (int, np.integer)):
        raise TypeError(f"load_digits: n_class must be an int from 1 to 10, got {n_class!r}")
    if not 1 <= n_class <= 10:
        raise ValueError(f"load_digits: n_class must be from 1 to 10, got {n_class}")
    bunch = sklearn_load_digits(n_class=int(n_class))
    images = (bunch.images / 16.0).astype(dtype)
    images = images.reshape(len(images), 64) if flatten else images[:, np.newaxis, :, :]
    return np.ascontiguousarray(images), bunch.target.astype(np.int64)
