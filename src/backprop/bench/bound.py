"""The GEMM-only bound of the MLP workloads (W1, W3): what their matrix products alone take.

Besides NumPy's passes, a training step of a chain of Linear layers is three products per
layer: the forward ``a W^T``, the weight gradient ``g^T a`` and the input gradient ``g W``
(none for the first layer: the data needs no gradient). The bound times exactly those
products for every step of the timed run, the last short batch included, as a flat loop of
NumPy ``matmul`` calls on preallocated float32 arrays. No framework on the same BLAS runs the
step faster, so ``ours / bound`` is how much of our step is something else, and ``JAX / bound``
how close a compiled step gets. Measured once per round, beside the runs it bounds.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from .workloads import MLP, SIGMOID_MLP, Sizes, spec_of

BOUND_WORKLOADS = ("mlp", "sigmoid-mlp")


def _products(widths: tuple[int, ...], batch: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(a, b, out)`` for each product of one step at ``batch`` samples, in the order a step makes them."""
    rng = np.random.default_rng(0)
    forward, backward = [], []
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        weight = rng.random((fan_out, fan_in), dtype=np.float32)
        a = rng.random((batch, fan_in), dtype=np.float32)
        g = rng.random((batch, fan_out), dtype=np.float32)
        forward.append((a, weight.T, np.empty((batch, fan_out), np.float32)))
        backward.append((g.T, a, np.empty((fan_out, fan_in), np.float32)))
        if layer:
            backward.append((g, weight, np.empty((batch, fan_in), np.float32)))
    return forward + backward[::-1]


def gemm_bound(workload: str, sizes: Sizes) -> float:
    """Seconds of the products alone of ``workload``'s timed run (``mlp`` or ``sigmoid-mlp``)."""
    if workload not in BOUND_WORKLOADS:
        raise ValueError(f"gemm_bound: {workload!r} has no GEMM-only bound; choose one of {BOUND_WORKLOADS}")
    spec = spec_of(workload, sizes)
    widths = MLP if workload == "mlp" else SIGMOID_MLP
    whole, rest = divmod(spec.samples, spec.batch_size)
    batches = [spec.batch_size] * whole + ([rest] if rest else [])
    steps = {b: _products(widths, b) for b in set(batches)}
    for products in steps.values():  # the first calls start BLAS's threads and touch the pages
        for a, b, out in products:
            np.matmul(a, b, out=out)
    started = time.perf_counter()
    for batch in batches:
        for a, b, out in steps[batch]:
            np.matmul(a, b, out=out)
    return time.perf_counter() - started
