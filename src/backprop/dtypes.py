"""The default floating-point dtype: the one piece of global state in backprop.

Every layer created without an explicit ``dtype=`` takes the default, float32. Gradient
checks and the seeds' worked examples need float64: pass ``dtype=np.float64`` to each layer,
or call ``set_default_dtype(np.float64)`` before building the model.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

_SUPPORTED = (np.dtype(np.float32), np.dtype(np.float64))
_default_dtype = np.dtype(np.float32)


def resolve_dtype(dtype: DTypeLike | None, owner: str = "backprop") -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, or the default when it is None.

    Raises TypeError naming ``owner`` when the dtype is not float32 or float64.
    """
    if dtype is None:
        return _default_dtype
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{owner}: dtype must be float32 or float64, got {dtype!r}") from error
    if resolved not in _SUPPORTED:
        raise TypeError(f"{owner}: dtype must be float32 or float64, got {resolved}")
    return resolved


def set_default_dtype(dtype: DTypeLike) -> None:
    """Make ``dtype`` (float32 or float64) the dtype of layers created without one."""
    global _default_dtype
    _default_dtype = resolve_dtype(dtype, "set_default_dtype")


def get_default_dtype() -> np.dtype:
    """The dtype that layers created without ``dtype=`` use (float32 unless changed)."""
    return _default_dtype
