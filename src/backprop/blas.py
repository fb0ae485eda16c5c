"""NumPy's own BLAS, called directly where NumPy has no single operation: ``y += alpha x`` (axpy).

NumPy needs two passes for an SGD update, ``buf = eta g`` then ``w -= buf``; BLAS's axpy does
``w = w + (-eta) g`` in one. The library is the OpenBLAS that NumPy itself loaded (found at
run time through threadpoolctl, which lists the loaded BLAS libraries and their paths), so
there is one thread pool, NumPy's; SciPy's BLAS would be a second OpenBLAS whose threads fight
NumPy's (round 1 of the speed work measured a 3x slower step). Only the ILP64 symbols of
NumPy's bundled scipy-openblas64 are used (``scipy_cblas_saxpy64_``, 64-bit integers): their
integer width is certain. Where they are missing (NumPy built on MKL, Accelerate or a system
BLAS) ``axpy`` returns False and the caller does the NumPy passes.

The BLAS kernel may fuse the multiply and the add (one rounding instead of two), so the
two paths can differ in the last bit; each is deterministic, so the same seed gives the same
weights run after run on the same machine.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from typing import Any

import numpy as np

_SYMBOLS = {np.dtype(np.float32): "scipy_cblas_saxpy64_", np.dtype(np.float64): "scipy_cblas_daxpy64_"}
_UNSET = object()
# Below this many elements the ctypes call costs more than the NumPy pass it saves.
AXPY_MIN_SIZE = 16_384
_found: Any = _UNSET


def _numpy_openblas() -> str | None:
    """The path of the OpenBLAS NumPy loaded (under numpy/ or numpy.libs/), or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    numpy_dir = os.path.dirname(np.__file__)
    for pool in threadpool_info():
        path = pool.get("filepath", "")
        if pool.get("internal_api") == "openblas" and path.startswith(numpy_dir):
            return path
    return None


def _load() -> dict[np.dtype, Callable[..., None]] | None:
    path = _numpy_openblas()
    if path is None:
        return None
    try:
        library = ctypes.CDLL(path)
    except OSError:
        return None
    functions = {}
    for dtype, name in _SYMBOLS.items():
        function = getattr(library, name, None)
        if function is None:
            return None
        scalar = ctypes.c_float if dtype == np.float32 else ctypes.c_double
        function.restype = None
        # (n, alpha, x, incx, y, incy), the integers 64-bit (ILP64)
        function.argtypes = [ctypes.c_int64, scalar, ctypes.c_void_p, ctypes.c_int64]
        function.argtypes += [ctypes.c_void_p, ctypes.c_int64]
        functions[dtype] = function
    return functions


def axpy_functions() -> dict[np.dtype, Callable[..., None]] | None:
    """NumPy's BLAS ``?axpy`` by dtype (float32, float64), looked up once; None where unavailable."""
    global _found
    if _found is _UNSET:
        _found = _load()
    return _found


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """``y += alpha x`` in place with one BLAS pass; False (and ``y`` untouched) where BLAS can't.

    BLAS takes it when both arrays are C-contiguous, of one dtype (float32 or float64) and one
    size, and NumPy's own OpenBLAS has the ILP64 axpy; the caller does the NumPy passes otherwise.
    """
    if y.size < AXPY_MIN_SIZE:
        return False
    functions = axpy_functions()
    if functions is None:
        return False
    function = functions.get(y.dtype)
    if (
        function is None
        or x.dtype != y.dtype
        or x.size != y.size
        or not x.flags.c_contiguous
        or not y.flags.c_contiguous
        or not y.flags.writeable
    ):
        return False
    function(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True
