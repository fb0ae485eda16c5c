"""GEMM shape cliffs: each product our Linear layers make, timed in every orientation NumPy could run it.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/gemm_orientations.py [--rounds 5]

For ``y = x W^T`` with x ``(N, I)`` and W ``(O, I)`` (W1/W4's layers at batch 128 and 1,000,
W3's at batch 10) it times, pinned to one core with one BLAS thread, interleaved, the best of
9 calls per round and the median over rounds, in GFLOP/s:

- ``x @ W.T``: what Linear computes (row-major x times a transposed view of W);
- ``W @ x.T``: the seeds' column-major ``z = W a``, giving ``y^T``;
- ``x @ Wt``: W stored transposed, ``(I, O)`` contiguous;
- ``x @ W.T`` in row blocks of 250 samples, so that a block of x stays in a 1 MB L2 cache.

A cliff is an orientation much slower than another on the same product, steadily across
rounds; a product slow in every orientation is bound by something else (memory, a neighbour).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

PRODUCTS = [(1000, 784, 256), (1000, 256, 128), (1000, 128, 10), (128, 784, 256), (128, 256, 128),
            (128, 128, 10), (10, 784, 100), (10, 100, 10)]


def _best(work: Callable[[], object], calls: int = 9) -> float:
    work()
    best = float("inf")
    for _ in range(calls):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    threadpool_limits(1, user_api="blas")
    blas = next(p for p in threadpool_info() if p["user_api"] == "blas")
    print(f"{blas['internal_api']} {blas['version']} {blas['architecture']}, 1 thread, pinned; "
          f"load {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(0)
    for n, i, o in PRODUCTS:
        x, w = rng.random((n, i), dtype=np.float32), rng.random((o, i), dtype=np.float32)
        wt, y, yt = np.ascontiguousarray(w.T), np.empty((n, o), np.float32), np.empty((o, n), np.float32)

        def blocks(x=x, w=w, y=y, n=n) -> None:
            for s in range(0, n, 250):
                np.matmul(x[s : s + 250], w.T, out=y[s : s + 250])

        ways = {
            "x @ W.T": lambda x=x, w=w, y=y: np.matmul(x, w.T, out=y),
            "W @ x.T": lambda x=x, w=w, yt=yt: np.matmul(w, x.T, out=yt),
            "x @ Wt": lambda x=x, wt=wt, y=y: np.matmul(x, wt, out=y),
            "x @ W.T, blocks of 250": blocks,
        }
        rates: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, work in ways.items():
                rates[name].append(2 * n * i * o / _best(work) / 1e9)
        cells = "  ".join(
            f"{name} {statistics.median(r):5.1f} [{min(r):.0f}-{max(r):.0f}]" for name, r in rates.items()
        )
        print(f"({n}x{i})@({i}x{o}): {cells}")
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
