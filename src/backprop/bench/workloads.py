"""What the benchmark does: the workloads and what they count, their sizes, one timed run.

FLOPs count a multiply-add as 2: forward = 2 x MACs per sample; training = 3 x forward
(the backward computes the input gradient and the weight gradient, each as costly as the
forward) less the first layer's input gradient, which no framework computes (nothing needs
the gradient with respect to the data: ours skips it with ``backward(gy, input_grad=False)``, PyTorch and
JAX because the data needs no gradient).
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import backprop as bp

WORKLOADS = (
    "mlp", "cnn", "sigmoid-mlp", "infer", "lenet5", "resnet", "cnn-infer", "cnn-latency", "sweep", "memory"
)
TIMED = ("mlp", "cnn", "sigmoid-mlp", "infer", "lenet5", "resnet", "cnn-infer", "cnn-latency")
# The networks that take images (N, 1, 28, 28); the others take (N, 784).
IMAGE_MODELS = ("cnn", "lenet5", "resnet")
# The workloads of those networks: PyTorch runs them in both memory layouts.
CNN_WORKLOADS = (*IMAGE_MODELS, "cnn-infer", "cnn-latency")
# The inference workloads, whose rows are rates (samples/s) or latencies rather than epochs.
INFERENCE = ("infer", "cnn-infer", "cnn-latency")
FRAMEWORKS = ("ours", "torch", "torch-nchw", "jax", "jax-reshape")
NAMES = {
    "ours": "ours",
    "torch": "PyTorch",
    "torch-nchw": "PyTorch NCHW",
    "jax": "JAX",
    "jax-reshape": "JAX reshape-pool",
}
# The package each framework runs on; peers share their framework's.
MODULES = {"ours": "backprop", "torch": "torch", "torch-nchw": "torch", "jax": "jax", "jax-reshape": "jax"}
# Peers that run only some workloads: PyTorch in NCHW the convolutional ones, JAX with its
# max-pool as a reshape only W2, and JAX neither the architectures of issue 21 (LeNet-5 and the
# ResNet), which nobody has written for it here, nor W2's inference.
ONLY_ON = {
    "torch-nchw": CNN_WORKLOADS,
    "jax-reshape": ("cnn",),
    "jax": ("mlp", "cnn", "sigmoid-mlp", "infer", "sweep", "memory"),
}
SWEEP_FRAMEWORKS = ("ours", "torch")  # JAX would compile one program per batch size

MLP = (784, 256, 128, 10)
SIGMOID_MLP = (784, 100, 10)
CNN_CHANNELS = (1, 32, 64)
CNN_HIDDEN = 128
LENET5 = (6, 16, 120, 84)  # the two convolutions' channels, then the Linear layers' widths
RESNET_WIDTHS = (16, 32, 64)  # three stages of two residual blocks each
CNN_INFER_BATCH = 64
CLASSES = 10
IMAGE = 28

# The products the workloads make, (m, k, n) for (m x k) @ (k x n): W1's forward and weight
# gradient at batch 128, W4's first layer at batch 1,000, W2's second convolution as one GEMM
# over the batch of 64 (14 x 14 positions, 32 x 3 x 3 window), W3's first layer at batch 10.
GEMM_SHAPES = (
    (128, 784, 256),
    (256, 128, 784),
    (128, 256, 128),
    (1000, 784, 256),
    (64 * 14 * 14, 32 * 9, 64),
    (10, 784, 100),
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


def lenet5_macs() -> int:
    """Multiply-adds per sample of W5: 5x5 convolutions (the first padded by 2), 2x2 average pools."""
    c1, c2, *hidden = LENET5
    macs = conv2d_macs(1, c1, (5, 5), (IMAGE, IMAGE))
    side = IMAGE // 2 - 4
    macs += conv2d_macs(c1, c2, (5, 5), (side, side))
    side //= 2
    return macs + linear_macs((c2 * side * side, *hidden, CLASSES))


def resnet_macs() -> int:
    """Multiply-adds per sample of W6's convolutions and Linear (BatchNorm and the sums not counted).

    The 3x3 stem, then per stage two blocks of two 3x3 convolutions; a stage after the first
    halves the map in its first convolution and adds a 1x1 projection of the block's input.
    """
    side, width = IMAGE, RESNET_WIDTHS[0]
    macs = conv2d_macs(1, width, (3, 3), (side, side))
    for stage, channels in enumerate(RESNET_WIDTHS):
        if stage:
            side = (side - 1) // 2 + 1  # a 3x3 convolution with stride 2 and padding 1
            macs += conv2d_macs(width, channels, (1, 1), (side, side))
        macs += conv2d_macs(width, channels, (3, 3), (side, side))
        macs += 3 * conv2d_macs(channels, channels, (3, 3), (side, side))
        width = channels
    return macs + linear_macs((width, CLASSES))


def macs_per_sample(workload: str) -> int:
    """Multiply-adds of one sample's forward pass in ``workload`` (``sweep`` and ``infer`` use W1's)."""
    if workload in ("mlp", "infer", "sweep", "memory"):
        return linear_macs(MLP)
    if workload in ("cnn", "cnn-infer", "cnn-latency"):
        return cnn_macs()
    if workload == "sigmoid-mlp":
        return linear_macs(SIGMOID_MLP)
    if workload == "lenet5":
        return lenet5_macs()
    if workload == "resnet":
        return resnet_macs()
    raise ValueError(f"macs_per_sample: unknown workload {workload!r}; choose one of {', '.join(WORKLOADS)}")


def runs_on(framework: str, workload: str) -> bool:
    """Whether ``framework`` takes part in ``workload`` (``ONLY_ON`` limits some peers)."""
    return framework not in ONLY_ON or workload in ONLY_ON[framework]


def first_layer_macs(workload: str) -> int:
    """Multiply-adds per sample of the first layer, whose input gradient training never computes."""
    if workload in ("cnn", "cnn-infer", "cnn-latency"):
        return conv2d_macs(CNN_CHANNELS[0], CNN_CHANNELS[1], (3, 3), (IMAGE, IMAGE))
    if workload == "lenet5":
        return conv2d_macs(1, LENET5[0], (5, 5), (IMAGE, IMAGE))
    if workload == "resnet":
        return conv2d_macs(1, RESNET_WIDTHS[0], (3, 3), (IMAGE, IMAGE))
    sizes = SIGMOID_MLP if workload == "sigmoid-mlp" else MLP
    macs_per_sample(workload)  # refuses an unknown workload
    return linear_macs(sizes[:2])


def flops_per_sample(workload: str, training: bool = True) -> int:
    """FLOPs per sample: forward = 2 x MACs; training = 2 x (3 x MACs - the first layer's MACs).

    The backward costs two forwards (input and weight gradients) except at the first layer,
    whose input gradient is the gradient with respect to the data, which nobody computes.
    """
    macs = macs_per_sample(workload)
    return 2 * (3 * macs - first_layer_macs(workload)) if training else 2 * macs


# --- sizes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much each workload does; ``FULL`` is the issue's, ``QUICK`` a smoke test's."""

    data: int = 60_000  # samples made; W1's epoch
    cnn: int = 10_000
    lenet5: int = 10_000
    resnet: int = 2_048
    # W3 times this many samples, scaled to an epoch of ``data``: the whole epoch since issue 11
    # (600 steps, 0.07 s a round, were too short to survive a neighbour on a shared core)
    sigmoid: int = 60_000
    infer: int = 10_000
    infer_batch: int = 1_000
    cnn_infer: int = 10_000
    cnn_latency: int = 500  # images, one predict call each
    sweep_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
    sweep_min_samples: int = 1_024  # a sweep point trains on max(this, 64 x batch) samples
    gemm_sizes: tuple[int, ...] = (1024, 2048)
    gemm_shapes: tuple[tuple[int, int, int], ...] = GEMM_SHAPES
    gemm_repeats: int = 3

    def sweep_samples(self, batch_size: int) -> int:
        """Samples timed at one sweep point: enough steps to dwarf the timer, at most the data."""
        return min(self.data, max(self.sweep_min_samples, 64 * batch_size))


FULL = Sizes()
QUICK = Sizes(
    data=2_000,
    cnn=320,
    lenet5=320,
    resnet=128,
    sigmoid=2_000,
    infer=2_000,
    cnn_infer=320,
    cnn_latency=20,
    sweep_batches=(1, 8, 64, 512),
    sweep_min_samples=64,
    gemm_sizes=(256, 512),
    gemm_repeats=2,
)


@dataclass(frozen=True)
class Spec:
    """One thing to time: train (one epoch) or infer ``model`` on the first ``samples`` samples."""

    model: str  # "mlp", "cnn", "sigmoid-mlp", "lenet5" or "resnet"
    samples: int
    batch_size: int
    train: bool = True
    lr: float = 0.1
    per_call: bool = False  # inference: one predict call per batch (the draw page's request), with softmax


def spec_of(workload: str, sizes: Sizes) -> Spec:
    """The Spec of a timed workload (one of ``TIMED``)."""
    if workload == "mlp":
        return Spec("mlp", sizes.data, 128)
    if workload == "cnn":
        return Spec("cnn", sizes.cnn, 64)
    if workload == "sigmoid-mlp":
        return Spec("sigmoid-mlp", sizes.sigmoid, 10, lr=3.0)
    if workload == "infer":
        return Spec("mlp", sizes.infer, sizes.infer_batch, train=False)
    if workload == "lenet5":
        return Spec("lenet5", sizes.lenet5, 64)
    if workload == "resnet":
        return Spec("resnet", sizes.resnet, 64)
    if workload == "cnn-infer":  # the batch predict's "auto" gives W2's network (tests/test_bench.py)
        return Spec("cnn", sizes.cnn_infer, CNN_INFER_BATCH, train=False)
    if workload == "cnn-latency":
        return Spec("cnn", sizes.cnn_latency, 1, train=False, per_call=True)
    raise ValueError(f"spec_of: {workload!r} is not a timed workload; choose one of {', '.join(TIMED)}")


def warm_spec(spec: Spec) -> Spec:
    """A few whole batches (at least 256 samples), plus the timed run's last short batch if it has one.

    Every shape the timed run uses then runs once before timing, so first-call costs (thread
    pools, oneDNN primitives, compiled JAX steps, page faults of new buffers) stay out of it.
    """
    b = spec.batch_size
    whole = min(spec.samples // b, max(3, -(-256 // b))) * b
    return Spec(spec.model, whole + spec.samples % b, b, spec.train, spec.lr, spec.per_call)


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


class Seconds(float):
    """Wall-clock seconds of a timed run, carrying the CPU seconds the process spent in it (``cpu``).

    ``cpu`` is ``time.process_time`` (every thread of the process). On a pinned core shared
    with other work it counts only the time the run had the core, so it varies less than the
    wall time when neighbours come and go; spinning thread pools count in it, as they should
    on one core.
    """

    cpu: float | None = None

    def __new__(cls, wall: float, cpu: float | None = None) -> Seconds:
        seconds = super().__new__(cls, wall)
        seconds.cpu = cpu
        return seconds


def timed(setup: Callable[[], Any], work: Callable[[Any], Any]) -> Seconds:
    """Seconds of ``work(setup())`` (wall; CPU as ``.cpu``), the setup and a garbage collection left out."""
    state = setup()
    gc.collect()
    cpu, started = time.process_time(), time.perf_counter()
    work(state)
    wall = time.perf_counter() - started
    return Seconds(wall, time.process_time() - cpu)
