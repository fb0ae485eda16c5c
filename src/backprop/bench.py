"""The benchmark of issue 5: our training and inference speed against PyTorch and JAX.

Workloads, on synthetic data of MNIST's shape (``mnist_like``: 60,000 x 1 x 28 x 28 float32
in [0, 1], integer labels, seed 0, made once and never timed), all float32, softmax
cross-entropy (mean), plain SGD, shuffled every epoch:

=============  =================================================================================
``mlp``        W1: Linear(784,256)-ReLU-Linear(256,128)-ReLU-Linear(128,10), lr 0.1, batch 128:
               seconds per 60,000-sample epoch
``cnn``        W2: Conv2d(1,32,3,p=1)-ReLU-MaxPool2d(2)-Conv2d(32,64,3,p=1)-ReLU-MaxPool2d(2)-
               Flatten-Linear(3136,128)-ReLU-Linear(128,10), lr 0.1, batch 64: seconds per
               10,000 samples (the first 10,000, one epoch)
``sigmoid-mlp``  W3: Linear(784,100)-Sigmoid-Linear(100,10), lr 3.0, batch 10: microseconds per
               step and seconds per 60,000-sample epoch, extrapolated from 600 timed steps
               (the first 6,000 samples): a whole epoch is 6,000 steps, minutes on a busy
               machine, and per-step overhead does not change along an epoch
``infer``      W4: W1's forward pass on 10,000 samples in batches of 1,000: samples per second
``sweep``      W1's training throughput for batch sizes 1 to 1024 (ours and PyTorch)
``memory``     peak resident memory of one W1 epoch over the data set, each framework in a
               fresh subprocess (``python -m backprop.bench --memory FRAMEWORK``)
=============  =================================================================================

Ours runs through the public path a user takes: ``bp.fit(..., progress=False)`` and
``bp.predict``. PyTorch runs eagerly (a plain loop: ``randperm``, ``zero_grad(set_to_none=
True)``, ``CrossEntropyLoss``, ``SGD``; W2 channels-last; inference under ``inference_mode``)
with as many threads as NumPy's BLAS. JAX compiles W1 as a whole epoch (``lax.scan`` over
the batches), W2 (NHWC) and W3 as one jitted step called per batch, W4 as a jitted forward;
compile time is excluded from the timings and reported apart.

Each framework gets one untimed warm-up per workload; then the rounds alternate
(ours, PyTorch, JAX for each workload, round after round) and the report quotes medians,
so that a noisy neighbour slows every framework alike rather than one of them. torch and
jax are imported only inside the functions that use them: without them their columns say
"not installed" and everything else works.

FLOPs count a multiply-add as 2: forward = 2 x MACs per sample, training = 3 x forward
(the backward computes the input gradient and the weight gradient, each as costly as the
forward). Our share of the GEMM peak compares that rate with the best float32 ``a @ b``
NumPy reaches on square matrices of 1024 and 2048 on the same machine.

The library never sets a BLAS variable: ``OPENBLAS_CORETYPE`` (which forces OpenBLAS's
kernels for an older processor) is only read and, when set, reported with a warning.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import importlib.util
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import backprop as bp

__all__ = [
    "FRAMEWORKS",
    "FULL",
    "NAMES",
    "QUICK",
    "TIMED",
    "WORKLOADS",
    "Data",
    "Results",
    "Sizes",
    "Spec",
    "Trial",
    "blas_threads_limited",
    "cnn_macs",
    "conv2d_macs",
    "environment",
    "flops_per_sample",
    "format_report",
    "framework_version",
    "gemm_peak",
    "jax_trial",
    "linear_macs",
    "macs_per_sample",
    "make_data",
    "memory_peak",
    "ours_trial",
    "run",
    "spec_of",
    "summary",
    "sweep_series",
    "torch_trial",
]

WORKLOADS = ("mlp", "cnn", "sigmoid-mlp", "infer", "sweep", "memory")
TIMED = ("mlp", "cnn", "sigmoid-mlp", "infer")
FRAMEWORKS = ("ours", "torch", "jax")
NAMES = {"ours": "ours", "torch": "PyTorch", "jax": "JAX"}
SWEEP_FRAMEWORKS = ("ours", "torch")  # JAX would compile one program per batch size

MLP = (784, 256, 128, 10)
SIGMOID_MLP = (784, 100, 10)
CNN_CHANNELS = (1, 32, 64)
CNN_HIDDEN = 128
CLASSES = 10
IMAGE = 28

CORETYPE_WARNING = (
    "OPENBLAS_CORETYPE={value} is set: NumPy's GEMM is forced to that core type's kernels "
    "(Haswell: AVX2, about half the speed on AVX-512 machines); run with env -u OPENBLAS_CORETYPE"
)


# --- what is counted ----------------------------------------------------------------------


def linear_macs(sizes: Sequence[int]) -> int:
    """Multiply-adds per sample of a chain of Linear layers ``sizes[0] -> sizes[1] -> ...``."""
    return sum(int(a) * int(b) for a, b in itertools.pairwise(sizes))


def conv2d_macs(c_in: int, c_out: int, kernel: tuple[int, int], out_hw: tuple[int, int]) -> int:
    """Multiply-adds per sample of a Conv2d: one ``c_in h_K w_K`` dot product per output value."""
    return c_in * kernel[0] * kernel[1] * c_out * out_hw[0] * out_hw[1]


def cnn_macs() -> int:
    """Multiply-adds per sample of W2 (3x3 convolutions with padding 1 keep the size; pools halve it)."""
    c0, c1, c2 = CNN_CHANNELS
    side = IMAGE
    macs = conv2d_macs(c0, c1, (3, 3), (side, side))
    side //= 2
    macs += conv2d_macs(c1, c2, (3, 3), (side, side))
    side //= 2
    return macs + linear_macs((c2 * side * side, CNN_HIDDEN, CLASSES))


def macs_per_sample(workload: str) -> int:
    """Multiply-adds of one sample's forward pass in ``workload`` (``sweep`` and ``infer`` use W1's)."""
    if workload in ("mlp", "infer", "sweep", "memory"):
        return linear_macs(MLP)
    if workload == "cnn":
        return cnn_macs()
    if workload == "sigmoid-mlp":
        return linear_macs(SIGMOID_MLP)
    raise ValueError(f"macs_per_sample: unknown workload {workload!r}; choose one of {', '.join(WORKLOADS)}")


def flops_per_sample(workload: str, training: bool = True) -> int:
    """FLOPs per sample: forward = 2 x MACs; training = 3 x forward (backward costs two forwards)."""
    forward = 2 * macs_per_sample(workload)
    return 3 * forward if training else forward


# --- sizes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much each workload does; ``FULL`` is the issue's, ``QUICK`` a smoke test's."""

    data: int = 60_000  # samples made; W1's epoch
    cnn: int = 10_000
    sigmoid: int = 6_000  # W3 times this many samples and scales the time to an epoch of ``data``
    infer: int = 10_000
    infer_batch: int = 1_000
    sweep_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
    sweep_min_samples: int = 1_024  # a sweep point trains on max(this, 64 x batch) samples
    gemm_sizes: tuple[int, ...] = (1024, 2048)
    gemm_repeats: int = 3

    def sweep_samples(self, batch_size: int) -> int:
        """Samples timed at one sweep point: enough steps to dwarf the timer, at most the data."""
        return min(self.data, max(self.sweep_min_samples, 64 * batch_size))


FULL = Sizes()
QUICK = Sizes(
    data=2_000,
    cnn=320,
    sigmoid=2_000,
    infer=2_000,
    sweep_batches=(1, 8, 64, 512),
    sweep_min_samples=64,
    gemm_sizes=(256, 512),
    gemm_repeats=2,
)


@dataclass(frozen=True)
class Spec:
    """One thing to time: train (one epoch) or infer ``model`` on the first ``samples`` samples."""

    model: str  # "mlp", "cnn" or "sigmoid-mlp"
    samples: int
    batch_size: int
    train: bool = True
    lr: float = 0.1


def spec_of(workload: str, sizes: Sizes) -> Spec:
    """The Spec of a timed workload (``mlp``, ``cnn``, ``sigmoid-mlp``, ``infer``)."""
    if workload == "mlp":
        return Spec("mlp", sizes.data, 128)
    if workload == "cnn":
        return Spec("cnn", sizes.cnn, 64)
    if workload == "sigmoid-mlp":
        return Spec("sigmoid-mlp", sizes.sigmoid, 10, lr=3.0)
    if workload == "infer":
        return Spec("mlp", sizes.infer, sizes.infer_batch, train=False)
    raise ValueError(f"spec_of: {workload!r} is not a timed workload; choose one of {', '.join(TIMED)}")


def _warm_spec(spec: Spec) -> Spec:
    """A few whole batches (at least 256 samples), plus the timed run's last short batch if it has one.

    Every shape the timed run uses then runs once before timing, so first-call costs (thread
    pools, oneDNN primitives, compiled JAX steps, page faults of new buffers) stay out of it.
    """
    b = spec.batch_size
    whole = min(spec.samples // b, max(3, -(-256 // b))) * b
    return Spec(spec.model, whole + spec.samples % b, b, spec.train, spec.lr)


@dataclass
class Data:
    """The synthetic data set: images ``(N, 1, 28, 28)`` float32 and labels ``(N,)`` int64."""

    x: np.ndarray
    y: np.ndarray

    @property
    def megabytes(self) -> float:
        return (self.x.nbytes + self.y.nbytes) / 1e6


def make_data(samples: int) -> Data:
    """``mnist_like(samples, seed=0)`` in float32."""
    x, y = bp.datasets.mnist_like(samples, seed=0, dtype=np.float32)
    return Data(x, y)


# --- one timed thing ----------------------------------------------------------------------


@dataclass
class Trial:
    """A workload ready in one framework: ``measure()`` returns the seconds of one timed run.

    ``measure`` builds a fresh model (untimed), collects garbage, then times the run alone.
    """

    measure: Callable[[], float]
    warmup: Callable[[], object]
    compile_seconds: float | None = None


def _timed(setup: Callable[[], Any], work: Callable[[Any], Any]) -> float:
    """Seconds of ``work(setup())``, the setup and a garbage collection left out."""
    state = setup()
    gc.collect()
    started = time.perf_counter()
    work(state)
    return time.perf_counter() - started


# --- ours ---------------------------------------------------------------------------------


def _our_model(kind: str) -> bp.Sequential:
    rng = np.random.default_rng(0)
    f32 = np.float32
    if kind == "cnn":
        (c0, c1, c2), flat = CNN_CHANNELS, CNN_CHANNELS[2] * (IMAGE // 4) ** 2
        return bp.Sequential(
            bp.Conv2d(c0, c1, 3, padding=1, dtype=f32, rng=rng),
            bp.ReLU(),
            bp.MaxPool2d(2),
            bp.Conv2d(c1, c2, 3, padding=1, dtype=f32, rng=rng),
            bp.ReLU(),
            bp.MaxPool2d(2),
            bp.Flatten(),
            bp.Linear(flat, CNN_HIDDEN, dtype=f32, rng=rng),
            bp.ReLU(),
            bp.Linear(CNN_HIDDEN, CLASSES, dtype=f32, rng=rng),
        )
    sizes, activation = (SIGMOID_MLP, bp.Sigmoid) if kind == "sigmoid-mlp" else (MLP, bp.ReLU)
    layers: list[bp.Layer] = []
    for a, b in itertools.pairwise(sizes):
        layers += [bp.Linear(a, b, dtype=f32, rng=rng), activation()]
    return bp.Sequential(*layers[:-1])


def _ours_run(spec: Spec, data: Data) -> Callable[[], float]:
    x, y = data.x[: spec.samples], data.y[: spec.samples]
    if spec.model != "cnn":
        x = x.reshape(len(x), -1)  # a view: the MLPs take (N, 784)

    def setup() -> tuple[bp.Sequential, bp.SGD]:
        model = _our_model(spec.model)
        return model, bp.SGD(model, spec.lr)

    def train(state: tuple[bp.Sequential, bp.SGD]) -> None:
        model, optimizer = state
        bp.fit(
            model,
            bp.SoftmaxCrossEntropy(),
            optimizer,
            x,
            y,
            epochs=1,
            batch_size=spec.batch_size,
            progress=False,
            seed=0,
        )

    def infer(state: tuple[bp.Sequential, bp.SGD]) -> None:
        bp.predict(state[0], x, batch_size=spec.batch_size, probabilities=False)

    return lambda: _timed(setup, train if spec.train else infer)


def ours_trial(spec: Spec, data: Data, threads: int) -> Trial:
    """Our library through ``bp.fit`` / ``bp.predict`` (``threads`` is NumPy's BLAS's own)."""
    measure, warm = _ours_run(spec, data), _ours_run(_warm_spec(spec), data)
    return Trial(measure, warm)


# --- PyTorch ------------------------------------------------------------------------------


def _torch_model(torch: Any, kind: str) -> Any:
    nn = torch.nn
    if kind == "cnn":
        (c0, c1, c2), flat = CNN_CHANNELS, CNN_CHANNELS[2] * (IMAGE // 4) ** 2
        return nn.Sequential(
            nn.Conv2d(c0, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(flat, CNN_HIDDEN),
            nn.ReLU(),
            nn.Linear(CNN_HIDDEN, CLASSES),
        ).to(memory_format=torch.channels_last)
    sizes, activation = (SIGMOID_MLP, nn.Sigmoid) if kind == "sigmoid-mlp" else (MLP, nn.ReLU)
    layers: list[Any] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers[:-1])


def _torch_run(torch: Any, spec: Spec, data: Data) -> Callable[[], float]:
    x, y = data.x[: spec.samples], data.y[: spec.samples]
    if spec.model == "cnn":
        X = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    else:
        X = torch.from_numpy(x.reshape(len(x), -1))  # shares the memory, as ours does
    Y = torch.from_numpy(y)
    n, b = len(x), spec.batch_size

    def setup() -> tuple[Any, Any]:
        torch.manual_seed(0)
        model = _torch_model(torch, spec.model)
        return model, torch.optim.SGD(model.parameters(), lr=spec.lr)

    def train(state: tuple[Any, Any]) -> None:
        model, optimizer = state
        criterion = torch.nn.CrossEntropyLoss()
        order = torch.randperm(n)
        for start in range(0, n, b):
            index = order[start : start + b]
            optimizer.zero_grad(set_to_none=True)
            criterion(model(X[index]), Y[index]).backward()
            optimizer.step()

    def infer(state: tuple[Any, Any]) -> None:
        model = state[0].eval()
        with torch.inference_mode():
            torch.cat([model(X[start : start + b]) for start in range(0, n, b)])

    return lambda: _timed(setup, train if spec.train else infer)


def torch_trial(spec: Spec, data: Data, threads: int) -> Trial:
    """PyTorch eager, ``threads`` intra-op threads (NumPy's BLAS's count)."""
    import torch

    torch.set_num_threads(threads)
    measure, warm = _torch_run(torch, spec, data), _torch_run(torch, _warm_spec(spec), data)
    return Trial(measure, warm)


# --- JAX ----------------------------------------------------------------------------------


def _jax_params(jax: Any, kind: str, seed: int = 0) -> list[tuple[Any, Any]]:
    """PyTorch's default initialisation, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; HWIO kernels."""
    if kind == "cnn":
        (c0, c1, c2), flat = CNN_CHANNELS, CNN_CHANNELS[2] * (IMAGE // 4) ** 2
        shapes = [
            ((3, 3, c0, c1), 9 * c0),
            ((3, 3, c1, c2), 9 * c1),
            ((flat, CNN_HIDDEN), flat),
            ((CNN_HIDDEN, CLASSES), CNN_HIDDEN),
        ]
    else:
        sizes = SIGMOID_MLP if kind == "sigmoid-mlp" else MLP
        shapes = [((a, b), a) for a, b in itertools.pairwise(sizes)]
    keys = jax.random.split(jax.random.PRNGKey(seed), 2 * len(shapes))
    params = []
    for i, (shape, fan_in) in enumerate(shapes):
        bound = 1.0 / math.sqrt(fan_in)
        w = jax.random.uniform(keys[2 * i], shape, minval=-bound, maxval=bound)
        b = jax.random.uniform(keys[2 * i + 1], shape[-1:], minval=-bound, maxval=bound)
        params.append((w, b))
    return params


def _jax_forward(jax: Any, kind: str) -> Callable[[Any, Any], Any]:
    lax = jax.lax

    def mlp(params: Any, x: Any) -> Any:
        activation = jax.nn.sigmoid if kind == "sigmoid-mlp" else jax.nn.relu
        for w, b in params[:-1]:
            x = activation(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def cnn(params: Any, x: Any) -> Any:
        def conv(x: Any, w: Any, b: Any) -> Any:
            y = lax.conv_general_dilated(
                x, w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
            return jax.nn.relu(y + b)

        def pool(x: Any) -> Any:
            # Max over non-overlapping 2x2 windows as a reshape: XLA:CPU ran the gradient of
            # lax.reduce_window (select_and_scatter) 2 to 3 times slower here, and the baseline
            # should be the fastest plain JAX we know.
            n, h, w, c = x.shape
            return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

        (w1, b1), (w2, b2), (w3, b3), (w4, b4) = params
        x = pool(conv(pool(conv(x, w1, b1)), w2, b2))
        x = jax.nn.relu(x.reshape(len(x), -1) @ w3 + b3)
        return x @ w4 + b4

    return cnn if kind == "cnn" else mlp


def _jax_step(jax: Any, forward: Callable[[Any, Any], Any], lr: float) -> Callable[..., Any]:
    jnp = jax.numpy

    def loss(params: Any, x: Any, y: Any) -> Any:
        logits = forward(params, x)
        picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

    def step(params: Any, x: Any, y: Any) -> Any:
        grads = jax.grad(loss)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    return step


def jax_trial(spec: Spec, data: Data, threads: int) -> Trial:
    """JAX: a whole epoch under ``lax.scan`` (W1), a jitted step per batch (W2, W3), a jitted forward (W4).

    XLA sizes its own CPU thread pool; ``threads`` is not applied (the report says so).
    """
    import jax

    jnp = jax.numpy
    x = data.x[: spec.samples]
    # NHWC for the CNN: with one channel that is only a reshape of NCHW.
    x = x.reshape(len(x), IMAGE, IMAGE, 1) if spec.model == "cnn" else x.reshape(len(x), -1)
    xj, yj = jax.device_put(x), jax.device_put(data.y[: spec.samples].astype(np.int32))
    n, b = spec.samples, spec.batch_size
    forward = _jax_forward(jax, spec.model)
    step = _jax_step(jax, forward, spec.lr)
    key = jax.random.PRNGKey(0)

    def fresh() -> Any:
        return jax.block_until_ready(_jax_params(jax, spec.model))

    if not spec.train:

        def forward_at(params: Any, x_all: Any, start: Any) -> Any:
            return forward(params, jax.lax.dynamic_slice_in_dim(x_all, start, b))

        started = time.perf_counter()
        compiled = jax.jit(forward_at).lower(fresh(), xj, 0).compile()
        compile_seconds = time.perf_counter() - started
        if n % b:
            raise ValueError(f"jax_trial: inference samples {n} must be a multiple of the batch {b}")

        def infer(params: Any) -> None:
            jax.block_until_ready(jnp.concatenate([compiled(params, xj, s) for s in range(0, n, b)]))

        measure = lambda: _timed(fresh, infer)  # noqa: E731
        return Trial(measure, measure, compile_seconds)

    if spec.model != "mlp":
        # One jitted step per batch, called from Python: the set-up for W3, and the
        # faster choice for W2 (XLA:CPU ran the convolutions about 20 times slower inside
        # lax.scan than as separate steps).
        def gathered(params: Any, x_all: Any, y_all: Any, index: Any) -> Any:
            return step(params, x_all[index], y_all[index])

        jitted = jax.jit(gathered)
        shapes = {b} | ({n % b} if n % b else set())
        started = time.perf_counter()
        compiled = {
            size: jitted.lower(fresh(), xj, yj, np.zeros(size, np.int32)).compile() for size in shapes
        }
        compile_seconds = time.perf_counter() - started
        rng = np.random.default_rng(0)

        def train_steps(params: Any, samples: int = n) -> None:
            order = rng.permutation(n)[:samples].astype(np.int32)
            for start in range(0, samples, b):
                index = order[start : start + b]
                params = compiled[len(index)](params, xj, yj, index)
            jax.block_until_ready(params)

        warm = _warm_spec(spec).samples
        return Trial(
            lambda: _timed(fresh, train_steps),
            lambda: _timed(fresh, lambda p: train_steps(p, warm)),
            compile_seconds,
        )

    full = (n // b) * b

    def epoch(params: Any, x_all: Any, y_all: Any, key: Any) -> Any:
        order = jax.random.permutation(key, n)

        def body(params: Any, index: Any) -> tuple[Any, None]:
            return step(params, x_all[index], y_all[index]), None

        params, _ = jax.lax.scan(body, params, order[:full].reshape(-1, b))
        if full < n:  # the last, smaller batch, as the other frameworks take it
            params = step(params, x_all[order[full:]], y_all[order[full:]])
        return params

    started = time.perf_counter()
    compiled_epoch = jax.jit(epoch).lower(fresh(), xj, yj, key).compile()
    compile_seconds = time.perf_counter() - started
    measure = lambda: _timed(fresh, lambda p: jax.block_until_ready(compiled_epoch(p, xj, yj, key)))  # noqa: E731
    # The whole epoch is one program, so its warm-up is one untimed epoch.
    return Trial(measure, measure, compile_seconds)


TRIALS: dict[str, Callable[[Spec, Data, int], Trial]] = {
    "ours": ours_trial,
    "torch": torch_trial,
    "jax": jax_trial,
}


# --- the machine --------------------------------------------------------------------------


def framework_version(framework: str) -> str | None:
    """The installed version of ``torch`` or ``jax`` (None when absent); ours is ``bp.__version__``.

    Read from the package metadata, so that asking does not import (and start) the framework.
    """
    if framework == "ours":
        return bp.__version__
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


def gemm_peak(sizes: Iterable[int] = (1024, 2048), repeats: int = 3) -> dict[str, Any]:
    """The best float32 ``a @ b`` rate NumPy reaches on square matrices of each size, GFLOP/s."""
    rng = np.random.default_rng(0)
    by_size = {}
    for n in sizes:
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        out = np.empty((n, n), np.float32)
        np.matmul(a, b, out=out)  # starts the BLAS threads
        best = math.inf
        for _ in range(repeats):
            started = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - started)
        by_size[str(n)] = 2 * n**3 / best / 1e9
    return {"gflops": max(by_size.values()), "by_size": by_size}


# --- memory, in a fresh process per framework ---------------------------------------------


def _rss_mb() -> float:
    """The resident set size now, MB (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm", encoding="ascii") as file:
            return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return _peak_rss_mb()


def _peak_rss_mb() -> float:
    """The peak resident set size of this process, MB.

    Linux's ``ru_maxrss`` would carry the parent's peak over ``fork`` and ``exec`` (the kernel
    keeps the old address space's high-water mark), so read this address space's own
    ``VmHWM`` where there is one.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except (OSError, ValueError, IndexError):
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6  # bytes on macOS, KiB elsewhere


def memory_peak(framework: str, samples: int = 60_000, threads: int | None = None) -> dict[str, float]:
    """In THIS process: RSS after import, after the data, and the peak over one W1 epoch, MB.

    Meant for a fresh process (``python -m backprop.bench --memory FRAMEWORK``): the peak is
    the process's own, since it started.
    """
    start = _rss_mb()
    if framework != "ours":
        __import__(framework)
    imported = _rss_mb()
    data = make_data(samples)
    with_data = _rss_mb()
    trial = TRIALS[framework](spec_of("mlp", Sizes(data=samples)), data, threads or os.cpu_count() or 1)
    seconds = trial.measure()
    peak = _peak_rss_mb()
    return {
        "start_mb": start,
        "import_mb": imported - start,
        "data_mb": data.megabytes,
        "rss_with_data_mb": with_data,
        "peak_mb": peak,
        "over_data_mb": peak - with_data,
        "epoch_seconds": seconds,
    }


def _memory_in_subprocess(
    framework: str, samples: int, threads: int, limit_blas: int | None
) -> dict[str, Any]:
    command = [sys.executable, "-m", "backprop.bench", "--memory", framework, "--samples", str(samples)]
    command += ["--threads", str(threads)] + ([] if limit_blas is None else ["--limit-blas"])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 30 minutes"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return {"error": last}
    return json.loads(lines[-1])


# --- the run ------------------------------------------------------------------------------


@dataclass
class Results:
    """Everything one run measured, raw (per round) and as written to ``--json``."""

    sizes: Sizes
    rounds: int
    workloads: list[str]
    frameworks: list[str]
    environment: dict[str, Any]
    status: dict[str, str] = field(default_factory=dict)  # framework -> "ok", "not installed", error
    gemm: list[dict[str, Any]] = field(default_factory=list)  # one per round
    seconds: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # workload -> fw -> rounds
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # workload -> fw -> message
    compile_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    sweep: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # fw -> batch -> rounds
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: every raw timing, the environment, and the summary rows."""
        content = asdict(self)
        content["sizes"]["sweep_samples"] = {
            str(b): self.sizes.sweep_samples(b) for b in self.sizes.sweep_batches
        }
        content["peak_gflops"] = self.peak_gflops
        content["summary"] = summary(self)
        return content

    @property
    def peak_gflops(self) -> float | None:
        return max((g["gflops"] for g in self.gemm), default=None)

    def median(self, workload: str, framework: str) -> float | None:
        values = self.seconds.get(workload, {}).get(framework)
        return statistics.median(values) if values else None


def blas_threads_limited(threads: int | None) -> contextlib.AbstractContextManager[Any]:
    """NumPy's BLAS limited to ``threads`` inside the block (threadpoolctl's runtime call); None: as is.

    Only for an explicit request (``--threads``): the library itself never changes BLAS threads.
    """
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as error:
        raise ValueError(
            "bench: limiting the BLAS threads needs threadpoolctl: pip install threadpoolctl"
        ) from error
    return threadpool_limits(limits=threads, user_api="blas")


def run(
    workloads: Sequence[str] = WORKLOADS,
    frameworks: Sequence[str] = FRAMEWORKS,
    rounds: int = 3,
    sizes: Sizes = FULL,
    log: Callable[[str], None] = lambda text: None,
    threads: int | None = None,
) -> Results:
    """Run the benchmark: warm-ups, then ``rounds`` interleaved rounds, then memory subprocesses.

    ``threads``: NumPy's BLAS and PyTorch use this many threads (default: the BLAS's own
    count, which PyTorch then matches); XLA keeps its own pool. ``log`` receives one line per
    measurement (the command line sends them to stderr).
    """
    unknown = [w for w in workloads if w not in WORKLOADS] + [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        raise ValueError(f"bench.run: unknown workload or framework {unknown[0]!r}")
    if rounds < 1:
        raise ValueError(f"bench.run: rounds must be at least 1, got {rounds}")
    if threads is not None and threads < 1:
        raise ValueError(f"bench.run: threads must be at least 1, got {threads}")
    env = environment()  # before torch or jax are imported: threadpoolctl then sees NumPy's BLAS alone
    with blas_threads_limited(threads):
        return _run(workloads, frameworks, rounds, sizes, log, env, threads)


def _run(
    workloads: Sequence[str],
    frameworks: Sequence[str],
    rounds: int,
    sizes: Sizes,
    log: Callable[[str], None],
    env: dict[str, Any],
    requested: int | None,
) -> Results:
    started = time.perf_counter()
    results = Results(sizes, rounds, list(workloads), list(frameworks), env)
    threads = requested or env["blas_threads"]
    env["threads"] = threads
    env["threads_requested"] = requested
    for framework in frameworks:
        results.status[framework] = "ok" if framework_version(framework) else "not installed"
    live = [f for f in frameworks if results.status[f] == "ok"]
    data = make_data(sizes.data)
    log(
        f"data: {sizes.data:,} x 1 x 28 x 28 float32 ({data.megabytes:.1f} MB); frameworks: {', '.join(live)}"
    )

    trials: dict[tuple[str, str], Trial] = {}
    jobs = [(w, spec_of(w, sizes)) for w in TIMED if w in workloads]
    if "sweep" in workloads:
        jobs += [(f"sweep:{b}", Spec("mlp", sizes.sweep_samples(b), b)) for b in sizes.sweep_batches]
    for name, spec in jobs:
        for framework in live:
            if name.startswith("sweep:") and framework not in SWEEP_FRAMEWORKS:
                continue
            try:
                trial = TRIALS[framework](spec, data, threads)
                trial.warmup()
            except Exception as error:  # a comparison that breaks must not sink the whole run
                if framework == "ours":
                    raise
                results.errors.setdefault(name, {})[framework] = f"{type(error).__name__}: {error}"
                log(f"warning: {NAMES[framework]} {name}: {type(error).__name__}: {error}")
                continue
            trials[name, framework] = trial
            if trial.compile_seconds is not None:
                results.compile_seconds.setdefault(name, {})[framework] = trial.compile_seconds
        log(f"warmed up: {name}")

    for r in range(1, rounds + 1):
        results.gemm.append(gemm_peak(sizes.gemm_sizes, sizes.gemm_repeats))
        log(f"round {r}/{rounds}: GEMM {results.gemm[-1]['gflops']:.1f} GFLOP/s")
        for name, _ in jobs:
            for framework in live:
                trial = trials.get((name, framework))
                if trial is None:
                    continue
                seconds = trial.measure()
                if name.startswith("sweep:"):
                    results.sweep.setdefault(framework, {}).setdefault(name[6:], []).append(seconds)
                else:
                    results.seconds.setdefault(name, {}).setdefault(framework, []).append(seconds)
                log(f"round {r}/{rounds}: {name} {NAMES[framework]} {seconds:.4g} s")

    if "memory" in workloads:
        for framework in live:
            log(f"memory: {NAMES[framework]} (a fresh process)")
            results.memory[framework] = _memory_in_subprocess(framework, sizes.data, threads, requested)
    results.environment["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    results.wall_seconds = time.perf_counter() - started
    return results


# --- the report ---------------------------------------------------------------------------

_TARGETS = {
    "mlp": "PyTorch <= 0.5, JAX <= 1.0, peak >= 60%",
    "cnn": "<= 1.0 x faster of PyTorch, JAX",
    "sigmoid-mlp": "PyTorch <= 0.5, JAX <= 1.0",
    "infer": "PyTorch >= 1.2",
    "memory": "ours <= 50 MB",
}


def _value(results: Results, workload: str, framework: str) -> float | None:
    """The row's figure: seconds per epoch / per N samples (W3 scaled to a whole epoch), samples/s for W4."""
    seconds = results.median(workload, framework)
    if seconds is None:
        return None
    samples = spec_of(workload, results.sizes).samples
    if workload == "infer":
        return samples / seconds
    return seconds * results.sizes.data / samples if workload == "sigmoid-mlp" else seconds


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summary(results: Results) -> list[dict[str, Any]]:
    """One dict per row of the table: values, ratios (ours / theirs), % of peak, target, met."""
    rows = []
    peak = results.peak_gflops
    sizes = results.sizes
    for workload in TIMED:
        if workload not in results.seconds:
            continue
        spec = spec_of(workload, sizes)
        values = {f: _value(results, workload, f) for f in FRAMEWORKS}
        ratios = {f: _ratio(values["ours"], values[f]) for f in ("torch", "jax")}
        share = {}
        for f in FRAMEWORKS:
            seconds = results.median(workload, f)
            if seconds and peak:
                flops = flops_per_sample(workload, spec.train) * spec.samples
                share[f] = flops / seconds / 1e9 / peak
        checks: dict[str, bool | None] = {}
        if workload in ("mlp", "sigmoid-mlp"):
            checks["PyTorch"] = None if ratios["torch"] is None else ratios["torch"] <= 0.5
            checks["JAX"] = None if ratios["jax"] is None else ratios["jax"] <= 1.0
            if workload == "mlp":
                checks["peak"] = None if "ours" not in share else share["ours"] >= 0.6
        elif workload == "cnn":
            theirs = [v for f, v in values.items() if f != "ours" and v is not None]
            checks["faster of PyTorch, JAX"] = (
                None if not theirs or values["ours"] is None else values["ours"] <= min(theirs)
            )
        elif workload == "infer":
            checks["PyTorch"] = None if ratios["torch"] is None else ratios["torch"] >= 1.2
        if workload == "mlp":
            label, unit = f"W1 mlp, s / epoch of {spec.samples:,}", "s"
        elif workload == "cnn":
            label, unit = f"W2 cnn, s / {spec.samples:,} samples", "s"
        elif workload == "sigmoid-mlp":
            label = f"W3 sigmoid-mlp, s / epoch of {sizes.data:,}"
            if spec.samples != sizes.data:
                label += f" (x{sizes.data / spec.samples:g} of {spec.samples:,} timed)"
            unit = "s"
        else:
            label, unit = f"W4 infer, samples/s ({spec.samples:,}, batch {spec.batch_size:,})", "samples/s"
        rows.append(
            {
                "workload": workload,
                "label": label,
                "unit": unit,
                "values": values,
                "ratios": ratios,
                "peak_share": share,
                "target": _TARGETS[workload],
                "checks": checks,
            }
        )
        if workload == "sigmoid-mlp":
            steps = math.ceil(spec.samples / spec.batch_size)
            medians = {f: results.median(workload, f) for f in FRAMEWORKS}
            per_step = {f: None if v is None else v / steps * 1e6 for f, v in medians.items()}
            rows.append(
                {
                    "workload": "sigmoid-mlp-step",
                    "label": f"W3 sigmoid-mlp, us / step (batch {spec.batch_size})",
                    "unit": "us",
                    "values": per_step,
                    "ratios": {f: _ratio(per_step["ours"], per_step[f]) for f in ("torch", "jax")},
                    "peak_share": {},
                    "target": "(as W3)",
                    "checks": {},
                }
            )
    if results.memory:
        values = {f: results.memory.get(f, {}).get("over_data_mb") for f in FRAMEWORKS}
        rows.append(
            {
                "workload": "memory",
                "label": "W1 peak memory over data, MB",
                "unit": "MB",
                "values": values,
                "ratios": {f: _ratio(values["ours"], values[f]) for f in ("torch", "jax")},
                "peak_share": {},
                "target": _TARGETS["memory"],
                "checks": {"ours": None if values["ours"] is None else values["ours"] <= 50},
            }
        )
    return rows


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "samples/s":
        return f"{value:,.0f}"
    if unit in ("us", "MB"):
        return f"{value:,.1f}"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _met(checks: dict[str, bool | None]) -> str:
    known = {name: ok for name, ok in checks.items() if ok is not None}
    if not known:
        return "-" if not checks else "n/a"
    failed = [name for name, ok in known.items() if not ok]
    missing = [name for name, ok in checks.items() if ok is None]
    text = "yes" if not failed else "no (" + ", ".join(failed) + ")"
    return text + (f"; {', '.join(missing)} n/a" if missing else "")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, ["-" * w for w in widths], *rows]:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:-2], widths[1:-2])
        ]
        cells += [row[-2].ljust(widths[-2]), row[-1]]
        lines.append("  ".join(cells).rstrip())
    return lines


def _cell(results: Results, framework: str, workload: str, value: float | None, unit: str) -> str:
    if framework not in results.frameworks:
        return "-"
    if results.status.get(framework) != "ok":
        return results.status.get(framework, "-")
    if value is None:
        return "error" if framework in results.errors.get(workload, {}) else "-"
    return _number(value, unit)


def format_report(results: Results) -> str:
    """The table of issue 5 and the lines under it: GEMM peak, shares of it, memory, threads, BLAS."""
    rows = summary(results)
    env = results.environment
    out: list[str] = []
    coretype = env.get("OPENBLAS_CORETYPE")
    if coretype:
        out += ["WARNING: " + CORETYPE_WARNING.format(value=coretype), ""]
    header = ["workload", "ours", "PyTorch", "JAX", "ours/PyTorch", "ours/JAX", "% peak", "target", "met?"]
    table = []
    for row in rows:
        share = row["peak_share"].get("ours")
        cells = [row["label"]]
        cells += [_cell(results, f, row["workload"], row["values"][f], row["unit"]) for f in FRAMEWORKS]
        cells += [
            f"{r:.2f}" if r is not None else "-" for r in (row["ratios"]["torch"], row["ratios"]["jax"])
        ]
        cells += [f"{100 * share:.1f}%" if share is not None else "-", row["target"], _met(row["checks"])]
        table.append(cells)
    if table:
        out += _table(header, table)
        out.append(
            f"medians of {results.rounds} interleaved round(s); ratios are ours / theirs in the row's unit "
            "(lower is better, except W4 samples/s)"
        )
    peak = results.peak_gflops
    if peak is not None:
        sizes = "/".join(str(n) for n in results.sizes.gemm_sizes)
        per_round = ", ".join(f"{g['gflops']:.1f}" for g in results.gemm)
        out.append(
            f"GEMM peak: {peak:.1f} GFLOP/s (NumPy float32 a @ b, n = {sizes}, best of "
            f"{results.sizes.gemm_repeats} per round; rounds: {per_round})"
        )
        for row in rows:
            if row["peak_share"]:
                shares = ", ".join(f"{NAMES[f]} {100 * s:.1f}%" for f, s in row["peak_share"].items())
                out.append(f"  share of peak, {row['label'].split(',')[0]}: {shares}")
    for name, by_framework in results.compile_seconds.items():
        if name.startswith("sweep:"):
            continue
        text = ", ".join(f"{NAMES[f]} {s:.2f} s" for f, s in by_framework.items())
        out.append(f"compile time (excluded from the timings), {name}: {text}")
    if results.sweep:
        out.append("sweep, W1 training samples/s by batch size (medians):")
        batches = list(results.sizes.sweep_batches)
        sweep_rows = [
            [NAMES[f]] + [_number(v, "samples/s") for v in values]
            for f, values in sweep_series(results).items()
        ]
        widths = [
            max(len(r[i]) for r in [["batch", *map(str, batches)], *sweep_rows])
            for i in range(len(batches) + 1)
        ]
        for row in [["batch", *map(str, batches)], *sweep_rows]:
            out.append(
                "  "
                + "  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])])
            )
    if results.memory:
        data_mb = next((m["data_mb"] for m in results.memory.values() if "data_mb" in m), None)
        parts = []
        for f, m in results.memory.items():
            if "error" in m:
                parts.append(f"{NAMES[f]} error: {m['error']}")
            else:
                parts.append(
                    f"{NAMES[f]} peak {m['peak_mb']:.0f} MB = {m['over_data_mb']:.0f} over "
                    f"{m['rss_with_data_mb']:.0f} with data (import {m['import_mb']:.0f})"
                )
        head = (
            f"memory (RSS, one W1 epoch, a fresh process each; data set {data_mb:.1f} MB): "
            if data_mb
            else "memory: "
        )
        out.append(head + "; ".join(parts))
    blas = env.get("blas") or {}
    blas_text = (
        f"{blas.get('internal_api', '?')} {blas.get('version', '?')}, {blas.get('architecture', '?')}, "
        f"{blas.get('threading_layer', '?')}, {blas.get('num_threads', '?')} threads"
        if blas
        else "unknown (threadpoolctl not installed)"
    )
    out.append(
        f"machine: {env['cpu']}, {env['usable_cores']} usable cores of {env['cores']}; "
        f"load average {_load(env.get('load_average'))} at start, {_load(env.get('load_average_end'))} at end"
    )
    out.append(
        f"NumPy {env['numpy']} BLAS: {blas_text}; OPENBLAS_CORETYPE "
        + (f"set to {coretype}" if coretype else "unset")
    )
    threads = env.get("threads", env["blas_threads"])
    how = "limited by --threads" if env.get("threads_requested") else "its own count"
    versions = ", ".join(f"{NAMES[f]} {env[f] or 'not installed'}" for f in ("torch", "jax"))
    out.append(
        f"threads: ours {threads} (NumPy's BLAS, {how}), PyTorch {threads} (torch.set_num_threads), "
        f"JAX XLA's own pool; {versions}; Python {env['python']}"
    )
    for name, by_framework in results.errors.items():
        for f, message in by_framework.items():
            out.append(f"error: {NAMES[f]} {name}: {message}")
    out.append(f"wall time {results.wall_seconds:.0f} s")
    return "\n".join(out)


def _load(values: list[float] | None) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "?"


def sweep_series(results: Results) -> dict[str, list[float]]:
    """Median training samples/s per sweep batch size, per framework (NaN where not measured)."""
    series = {}
    for framework, by_batch in results.sweep.items():
        values = []
        for b in results.sizes.sweep_batches:
            seconds = by_batch.get(str(b))
            values.append(
                results.sizes.sweep_samples(b) / statistics.median(seconds) if seconds else math.nan
            )
        series[framework] = values
    return series


# --- python -m backprop.bench --memory FRAMEWORK (the memory subprocess) -------------------


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backprop.bench",
        description="One memory measurement in a fresh process (backprop bench starts these); "
        "prints one JSON line. For the benchmark itself run: backprop bench",
    )
    parser.add_argument("--memory", choices=FRAMEWORKS, required=True, help="the framework to measure")
    parser.add_argument("--samples", type=int, default=FULL.data, help="samples in the data set (60000)")
    parser.add_argument("--threads", type=int, help="PyTorch threads (default: all cores)")
    parser.add_argument("--limit-blas", action="store_true", help="limit NumPy's BLAS to --threads too")
    args = parser.parse_args(argv)
    with blas_threads_limited(args.threads if args.limit_blas else None):
        print(json.dumps(memory_peak(args.memory, args.samples, args.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
