"""Pieces of a training step timed alone: the fused update against the ordinary one, and overhead candidates.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/step_micro.py [--rounds 7]

Pinned to one core (``--core``, default 0), one BLAS thread; every pair runs interleaved,
``--rounds`` times, and the medians are printed in microseconds.

1. ``fused``: a Linear weight's gradient and SGD step, ordinary (``linear_weight_grad``
   then ``sgd_update``) against fused (``blas.gemm`` with ``alpha = -eta, beta = 1`` into
   the weight), at the shapes of W1 and W3 and around ``optim.FUSED_MIN_SIZE``.
2. ``address``: the cost of an array's address for a ctypes call, ``a.ctypes.data`` against
   ctypes' buffer protocol (``blas._address``).
3. ``overhead``: candidates for W3's per-step overhead, each against what the library does:
   the loss with one flat index per label and one reduction for the label check (against
   ``SoftmaxCrossEntropy``), ``np.take`` for the batch gather, ReLU against a zeros array.
4. ``loss-step``: the loss candidate inside W3's ``fit`` (6,000 samples, CPU time), in
   ``5 x --rounds`` interleaved pairs, with how many pairs it won.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import time
import timeit
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

import backprop as bp
from backprop import blas
from backprop.layers.linear import linear_weight_grad
from backprop.optim import sgd_update


def compare(cases: dict[str, Callable[[], object]], rounds: int, number: int = 200) -> dict[str, float]:
    """Median over ``rounds`` interleaved rounds of the best of 3 repeats, microseconds per call."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, function in cases.items():
            times[name].append(min(timeit.repeat(function, number=number, repeat=3)) / number)
    return {name: 1e6 * statistics.median(values) for name, values in times.items()}


def show(title: str, medians: dict[str, float]) -> None:
    print(f"{title}: " + ", ".join(f"{name} {value:.2f} us" for name, value in medians.items()))


def fused_pair(n: int, o: int, i: int, rounds: int) -> dict[str, float]:
    """Batch ``n``, a weight ``(o, i)``: its gradient and SGD step, ordinary against fused."""
    rng = np.random.default_rng(0)
    gy = rng.standard_normal((n, o)).astype(np.float32)
    x = rng.standard_normal((n, i)).astype(np.float32)
    w = rng.standard_normal((o, i)).astype(np.float32)
    g, buf = np.empty_like(w), np.empty_like(w)

    def ordinary() -> None:
        linear_weight_grad(gy, x, g)
        sgd_update(w, g, None, buf, 0.01)

    return compare({"ordinary": ordinary, "fused": lambda: blas.gemm(-0.01, gy, x, 1.0, w, True)}, rounds)


def fused(rounds: int) -> None:
    shapes = ((10, 10, 100), (128, 10, 128), (10, 64, 128), (10, 64, 256), (128, 128, 256), (10, 100, 784),
              (128, 256, 784))
    for n, o, i in shapes:  # batch, out_features, in_features
        show(f"fused, batch {n}, weight {o} x {i} = {o * i:,}", fused_pair(n, o, i, rounds))


def address(rounds: int) -> None:
    a = np.ones((10, 100), np.float32)
    cases = {"a.ctypes.data": lambda: a.ctypes.data, "buffer protocol": lambda: blas._address(a)}
    assert blas._address(a) == a.ctypes.data == ctypes.addressof(ctypes.c_char.from_buffer(a))
    show("address of an array", compare(cases, rounds, 5000))


class FlatIndexLoss(bp.SoftmaxCrossEntropy):
    """The candidate: labels checked with one reduction, picked and subtracted with a flat index."""

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        self._check_outputs(outputs, 2, "(N, C)")
        t = np.asarray(targets)
        n, classes = outputs.shape
        if t.view(t.dtype.str.replace("i", "u")).max() >= classes:
            raise ValueError(f"{self}: labels must lie in [0, {classes})")
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        total = p.sum(axis=1, keepdims=True)
        p /= total
        scale = self._scale(n)
        labelled = np.arange(0, n * classes, classes)
        labelled += t
        value = (float(np.log(total).sum()) - float(shifted.reshape(-1)[labelled].sum())) * scale
        p.reshape(-1)[labelled] -= 1
        p *= outputs.dtype.type(scale)
        self._grad = p
        return value


def loss_pair(n: int, rounds: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((n, 10)).astype(np.float32), rng.integers(0, 10, n)
    ours, candidate = bp.SoftmaxCrossEntropy(), FlatIndexLoss()
    assert ours(z, y) == candidate(z, y) and np.array_equal(ours.backward(), candidate.backward())
    cases = {"SoftmaxCrossEntropy": lambda: ours(z, y), "flat-index candidate": lambda: candidate(z, y)}
    return compare(cases, rounds, 1000)


def gather_pair(x: np.ndarray, labels: np.ndarray, index: np.ndarray, rounds: int) -> dict[str, float]:
    return compare({
        "x[index], y[index]": lambda: (x[index], labels[index]),
        "np.take": lambda: (np.take(x, index, axis=0), np.take(labels, index)),
    }, rounds, 1000)


def overhead(rounds: int) -> None:
    for n in (10, 128):
        show(f"loss, batch {n}", loss_pair(n, rounds))
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 10)
    show("label range check, 10 labels", compare({
        "min and max": lambda: labels.min() < 0 or labels.max() >= 10,
        "one unsigned max": lambda: labels.view(np.uint64).max() >= 10,
    }, rounds, 5000))
    x, y = rng.random((60_000, 784), dtype=np.float32), rng.integers(0, 10, 60_000)
    order = rng.permutation(60_000)
    for n in (10, 128):
        show(f"gather, batch {n}", gather_pair(x, y, order[:n], rounds))
    z = rng.standard_normal((128, 256)).astype(np.float32)
    zeros = np.zeros_like(z)
    show("ReLU forward, 128 x 256", compare({
        "np.maximum(z, 0)": lambda: np.maximum(z, 0),
        "np.maximum(z, zeros)": lambda: np.maximum(z, zeros),
    }, rounds, 300))


def loss_step(rounds: int) -> None:
    """The loss candidate at the step level: W3's fit on 6,000 samples, ``rounds`` interleaved pairs."""
    from backprop import bench
    from backprop.bench.ours import our_model

    data = bench.make_data(6_000)
    x = data.x.reshape(len(data.x), -1)

    def epoch(loss: bp.SoftmaxCrossEntropy) -> tuple[float, dict[str, np.ndarray]]:
        model = our_model("sigmoid-mlp")
        started = time.process_time()
        bp.fit(model, loss, bp.SGD(model, 3.0), x, data.y, epochs=1, batch_size=10, progress=False, seed=0)
        return time.process_time() - started, model.params

    ours, candidate = epoch(bp.SoftmaxCrossEntropy())[1], epoch(FlatIndexLoss())[1]
    assert all(np.array_equal(ours[name], candidate[name]) for name in ours)  # the same bits
    times: dict[str, list[float]] = {"SoftmaxCrossEntropy": [], "flat-index candidate": []}
    for round_ in range(rounds):
        for name in list(times)[:: 1 if round_ % 2 else -1]:
            loss = bp.SoftmaxCrossEntropy() if name == "SoftmaxCrossEntropy" else FlatIndexLoss()
            times[name].append(epoch(loss)[0])
    medians = {name: statistics.median(values) for name, values in times.items()}
    wins = sum(c < o for c, o in zip(times["flat-index candidate"], times["SoftmaxCrossEntropy"]))
    print("loss at the step level, W3 fit on 6,000 samples, CPU s: "
          + ", ".join(f"{name} {value:.4f}" for name, value in medians.items())
          + f"; candidate / ours {medians['flat-index candidate'] / medians['SoftmaxCrossEntropy']:.3f},"
          f" candidate faster in {wins} of {rounds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["fused", "address", "overhead", "loss-step"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    threadpool_limits(1, user_api="blas")
    if blas.routines() is None:
        raise SystemExit("step_micro: this NumPy has no bundled OpenBLAS, so there is no fused path to time")
    for part in args.parts:
        parts = {"fused": fused, "address": address, "overhead": overhead, "loss-step": loss_step}
        parts[part](args.rounds if part != "loss-step" else 5 * args.rounds)


if __name__ == "__main__":
    main()
