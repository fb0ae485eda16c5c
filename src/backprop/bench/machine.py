"""The machine a run measured: CPU, cores, BLAS and its threads, versions, and the GEMM peak.

Our share of the GEMM peak compares our FLOP rate with the best float32 ``a @ b`` NumPy
reaches on the same machine, over several shapes: squares of 1024 and 2048 and the products
the workloads themselves make (``workloads.GEMM_SHAPES``). A share above 100% means the peak
was measured low (a neighbour took the core during it): the report calls it a measurement
error rather than printing it.

The library never sets a BLAS variable: ``OPENBLAS_CORETYPE`` (which forces OpenBLAS's
kernels for an older processor) is only read and, when set, reported with a warning.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
import os
import platform
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

import backprop as bp

from .workloads import MODULES


def framework_version(framework: str) -> str | None:
    """The installed version of ``torch`` or ``jax`` (None when absent); ours is ``bp.__version__``.

    Read from the package metadata, so that asking does not import (and start) the framework.
    A peer such as ``torch-nchw`` has the version of the package it runs on.
    """
    if framework == "ours":
        return bp.__version__
    framework = MODULES[framework]
    if importlib.util.find_spec(framework) is None:
        return None
    try:
        return importlib.metadata.version(framework)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """threadpoolctl's record of the loaded thread pools, and NumPy's BLAS among them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [], None
    pools = threadpool_info()
    blas = [pool for pool in pools if pool.get("user_api") == "blas"]
    numpy_dir = os.path.dirname(np.__file__)
    own = [pool for pool in blas if os.path.dirname(pool.get("filepath", "")).startswith(numpy_dir)]
    return pools, (own or blas or [None])[0]


def environment() -> dict[str, Any]:
    """The machine and software a run measured: CPU, cores, BLAS build and threads, versions, load."""
    pools, blas = _blas()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "backprop": bp.__version__,
        "torch": framework_version("torch"),
        "jax": framework_version("jax"),
        "blas": blas,
        "threadpools": pools,
        "blas_threads": int(blas["num_threads"]) if blas else (usable or 1),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE") or None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def gemm_peak(
    sizes: Iterable[int] = (1024, 2048),
    repeats: int = 3,
    shapes: Iterable[tuple[int, int, int]] = (),
) -> dict[str, Any]:
    """The best float32 ``a @ b`` rate NumPy reaches, GFLOP/s, over squares ``n x n`` and ``shapes``.

    ``shapes`` are ``(m, k, n)``: ``a`` is ``(m, k)``, ``b`` is ``(k, n)``. ``by_size`` keeps
    each one's best of ``repeats`` (keyed ``"n"`` for squares, ``"m x k x n"`` otherwise);
    ``gflops`` is the best of them all.
    """
    rng = np.random.default_rng(0)
    by_size = {}
    products = [(str(n), (n, n, n)) for n in sizes] + [(f"{m} x {k} x {n}", (m, k, n)) for m, k, n in shapes]
    for key, (m, k, n) in products:
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        out = np.empty((m, n), np.float32)
        np.matmul(a, b, out=out)  # starts the BLAS threads
        best = math.inf
        for _ in range(repeats):
            started = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - started)
        by_size[key] = 2 * m * k * n / best / 1e9
    return {"gflops": max(by_size.values()), "by_size": by_size}
