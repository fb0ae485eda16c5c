"""NumPy's own BLAS, called directly where NumPy has no single operation: axpy, axpby, GEMM with ``beta``.

NumPy needs two passes for an SGD update, ``buf = eta g`` then ``w -= buf``; BLAS's axpy does
``w = w + (-eta) g`` in one, and axpby a moving average ``m = beta m + (1 - beta) g`` (three
NumPy passes) in one. NumPy's matmul always writes a new product, while BLAS's GEMM
computes ``C = alpha op(A) B + beta C`` into ``C``: with ``alpha = -eta, beta = 1`` and
``C = W`` the weight gradient and the SGD step are one pass (``SGD.fused_updates``'s hooks). The
library is the OpenBLAS that NumPy itself loaded (found at run time through threadpoolctl,
which lists the loaded BLAS libraries and their paths), so there is one thread pool, NumPy's;
SciPy's BLAS would be a second OpenBLAS whose threads fight NumPy's (round 1 of the speed work
measured a 3x slower step). Only the ILP64 symbols of NumPy's bundled scipy-openblas64 are used
(``scipy_cblas_saxpy64_``, ``scipy_cblas_saxpby64_``, ``scipy_cblas_sgemm64_`` and their float64
twins, 64-bit integers):
their integer width is certain. Where they are missing (NumPy built on MKL, Accelerate or a
system BLAS) ``axpy``, ``axpby`` and ``gemm`` return False and the caller does the NumPy passes.

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

# The routines by name, then by dtype: the symbol of NumPy's scipy-openblas64.
_SYMBOLS: dict[str, dict[np.dtype, str]] = {
    "axpy": {np.dtype(np.float32): "scipy_cblas_saxpy64_", np.dtype(np.float64): "scipy_cblas_daxpy64_"},
    "axpby": {np.dtype(np.float32): "scipy_cblas_saxpby64_", np.dtype(np.float64): "scipy_cblas_daxpby64_"},
    "gemm": {np.dtype(np.float32): "scipy_cblas_sgemm64_", np.dtype(np.float64): "scipy_cblas_dgemm64_"},
}
# CBLAS's enumerations (cblas.h): C ints, unlike the ILP64 dimensions.
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
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


def _argtypes(routine: str, scalar: type) -> list[Any]:
    """The C signature of ``cblas_?axpy``, ``cblas_?axpby`` or ``cblas_?gemm``, integers 64-bit (ILP64)."""
    i64, pointer = ctypes.c_int64, ctypes.c_void_p
    if routine == "axpy":  # (n, alpha, x, incx, y, incy)
        return [i64, scalar, pointer, i64, pointer, i64]
    if routine == "axpby":  # (n, alpha, x, incx, beta, y, incy)
        return [i64, scalar, pointer, i64, scalar, pointer, i64]
    # (order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    enum = ctypes.c_int
    return [enum, enum, enum, i64, i64, i64, scalar, pointer, i64, pointer, i64, scalar, pointer, i64]


def _library() -> ctypes.CDLL | None:
    path = _numpy_openblas()
    if path is None:
        return None
    try:
        return ctypes.CDLL(path)
    except OSError:
        return None


def _load() -> dict[str, dict[np.dtype, Callable[..., None]]] | None:
    library = _library()
    if library is None:
        return None
    routines: dict[str, dict[np.dtype, Callable[..., None]]] = {}
    for routine, symbols in _SYMBOLS.items():
        routines[routine] = {}
        for dtype, name in symbols.items():
            function = getattr(library, name, None)
            if function is None:
                return None
            function.restype = None
            function.argtypes = _argtypes(routine, ctypes.c_float if dtype == np.float32 else ctypes.c_double)
            routines[routine][dtype] = function
    return routines


def _address(a: np.ndarray) -> int:
    """The address of a C-contiguous array's first element.

    Through ctypes' buffer protocol for a writeable array (0.6 us here), ``a.ctypes.data``
    (1.8 us: it builds a helper object) otherwise; at three per GEMM that is most of a small
    product's cost.
    """
    if a.flags.writeable:
        # NumPy's stubs make ndarray a Buffer only on Python 3.12+.
        return ctypes.addressof(ctypes.c_char.from_buffer(a))  # type: ignore[arg-type]
    return a.ctypes.data


def routines() -> dict[str, dict[np.dtype, Callable[..., None]]] | None:
    """NumPy's BLAS as ``{"axpy": {dtype: function}, "gemm": ...}``, looked up once; None if unavailable."""
    global _found
    if _found is _UNSET:
        _found = _load()
    return _found


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """``y += alpha x`` in place with one BLAS pass; False (and ``y`` untouched) where BLAS can't.

    BLAS takes it when both arrays are C-contiguous, of one dtype (float32 or float64) and one
    size of at least ``AXPY_MIN_SIZE``, and NumPy's own OpenBLAS has the ILP64 axpy; the caller
    does the NumPy passes otherwise.
    """
    function = _vector_routine("axpy", x, y)
    if function is None:
        return False
    function(y.size, alpha, _address(x), 1, _address(y), 1)
    return True


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> bool:
    """``y = alpha x + beta y`` in place with one BLAS pass; False (and ``y`` untouched) where BLAS
    can't (``axpy``'s conditions)."""
    function = _vector_routine("axpby", x, y)
    if function is None:
        return False
    function(y.size, alpha, _address(x), 1, beta, _address(y), 1)
    return True


def _vector_routine(name: str, x: np.ndarray, y: np.ndarray) -> Callable[..., None] | None:
    if y.size < AXPY_MIN_SIZE:
        return None
    found = routines()
    if found is None:
        return None
    function = found[name].get(y.dtype)
    if (
        function is None
        or x.dtype != y.dtype
        or x.size != y.size
        or not x.flags.c_contiguous
        or not y.flags.c_contiguous
        or not y.flags.writeable
    ):
        return None
    return function


def gemm(
    alpha: float, a: np.ndarray, b: np.ndarray, beta: float, c: np.ndarray, transpose_a: bool = False
) -> bool:
    """``c = alpha op(a) b + beta c`` in place, one BLAS call; False (and ``c`` untouched) where BLAS can't.

    ``op(a)`` is ``a^T`` with ``transpose_a`` (a ``(K, M)``), else ``a`` (``(M, K)``); b is
    ``(K, N)`` and c ``(M, N)``. BLAS takes it when the three are 2-D, C-contiguous, of one
    dtype (float32 or float64), non-empty, of matching shapes, ``c`` writeable and apart from
    ``a`` and ``b`` in memory, and NumPy's own OpenBLAS has the ILP64 GEMM.
    """
    found = routines()
    if found is None:
        return False
    function = found["gemm"].get(c.dtype)
    if function is None or not (a.ndim == b.ndim == c.ndim == 2) or not (a.dtype == b.dtype == c.dtype):
        return False
    (k, m), (k_b, n) = (a.shape if transpose_a else a.shape[::-1]), b.shape
    if (
        (m, n) != c.shape
        or k != k_b
        or 0 in (k, m, n)
        or not (a.flags.c_contiguous and b.flags.c_contiguous and c.flags.c_contiguous)
        or not c.flags.writeable
        or np.may_share_memory(c, a)
        or np.may_share_memory(c, b)
    ):
        return False
    order = _TRANS if transpose_a else _NO_TRANS
    function(
        _ROW_MAJOR, order, _NO_TRANS, m, n, k,
        alpha, _address(a), a.shape[1], _address(b), n, beta, _address(c), n,
    )
    return True


_threads_function: Any = _UNSET


def threads() -> int:
    """How many threads NumPy's OpenBLAS runs a product on now; 1 where that cannot be read.

    What the user set (``OPENBLAS_NUM_THREADS``, threadpoolctl's limits; by default the cores),
    read through OpenBLAS's own ``openblas_get_num_threads`` (a quarter of a microsecond), so a
    limit set at run time is seen at the next call. The library reads it, never sets it.
    """
    global _threads_function
    if _threads_function is _UNSET:
        library = _library()
        function = None if library is None else getattr(library, "scipy_openblas_get_num_threads64_", None)
        if function is not None:
            function.restype, function.argtypes = ctypes.c_int, []
        _threads_function = function
    return max(1, int(_threads_function())) if _threads_function is not None else 1

