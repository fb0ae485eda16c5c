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
               step and seconds per 60,000-sample epoch (6,000 steps, all timed: 600 steps,
               0.07 s, were too short to survive a neighbour on a shared core)
``infer``      W4: W1's forward pass on 10,000 samples in batches of 1,000: samples per second
``lenet5``     W5: ``--model lenet5`` (Conv2d(1,6,5,p=2)-tanh-AvgPool2d(2)-Conv2d(6,16,5)-tanh-
               AvgPool2d(2)-Linear 120-tanh-Linear 84-tanh-Linear 10), lr 0.1, batch 64:
               seconds per 10,000 samples
``resnet``     W6: ``--model resnet`` (a 3x3 stem, three stages of two residual blocks of
               16, 32, 64 channels with BatchNorm, global average pooling, Linear), lr 0.1,
               batch 64: seconds per 2,048 samples
``cnn-infer``  W7: W2's network, ``bp.predict`` of 10,000 images in the batch its ``"auto"`` gives
               (64): samples per second
``cnn-latency``  W8: W2's network, one ``bp.predict`` call per image (softmax included), what each
               request of the draw-a-digit page pays: microseconds per call
``sweep``      W1's training throughput for batch sizes 1 to 1024 (ours and PyTorch)
``memory``     peak resident memory of one W1 epoch over the data set, each framework in a
               fresh subprocess (``python -m backprop.bench --memory FRAMEWORK``)
=============  =================================================================================

Ours runs through the public path a user takes: ``bp.fit(..., progress=False)`` and
``bp.predict``. PyTorch runs eagerly (a plain loop: ``randperm``, ``zero_grad(set_to_none=
True)``, ``CrossEntropyLoss``, ``SGD``; W2 both channels-last, ``torch``, and NCHW,
``torch-nchw``, likewise W5-W8; inference under ``inference_mode``). JAX compiles W1 as a whole epoch
(``lax.scan`` over the batches), W2 (NHWC: ``lax.conv_general_dilated`` and
``lax.reduce_window``; ``jax-reshape`` pools with a reshape and max, which XLA:CPU
differentiates faster) and W3 as one jitted step called per batch, W4 as a jitted forward;
compile time is excluded from the timings and reported apart; it does not run W5-W8.

By default every thread of the run is pinned to one core and each framework uses one
thread (``pinning``); ``threads=N`` (``--threads N``) runs unpinned with N threads. Each
round starts with a core probe (``probe``) that records how many cores the round had.

Each framework gets one untimed warm-up per workload; then the rounds alternate
(ours, PyTorch, JAX for each workload, round after round) and the report quotes medians,
so that a noisy neighbour slows every framework alike rather than one of them. torch and
jax are imported only inside the functions that use them: without them their columns say
"not installed" and everything else works.

Why here, in the package: ``backprop bench`` ships with backprop, so it works from an install
without the repository, and every workload is defined once. The scripts in the repository's
``benchmarks/`` (profiles, step A/B against a git revision, micro-timings, scaling under MPI,
scikit-learn side by side) are investigations that need the repository; they import this
package rather than copy it, so they time exactly what ``backprop bench`` times
(``benchmarks/README.md``). A measurement that becomes part of the report moves in here.

The package, one concept per module:

=================  ==============================================================================
``workloads``      the constants, what is counted (MACs, FLOPs), ``Sizes``/``Spec``/``Data``,
                   ``Trial`` and the timer
``ours``           ours through ``bp.fit`` / ``bp.predict``: ``ours_trial``
``pytorch``        PyTorch eager: ``torch_trial``
``jaxrun``         JAX, compiled: ``jax_trial``
``trials``         ``TRIALS``: each framework's trial by name
``machine``        CPU, cores, BLAS, versions (``environment``) and ``gemm_peak``
``pinning``        ``pinned_to_one_core``: every thread of the process on one core
``probe``          ``core_probe``: how many cores N spinning processes really got
``memory``         ``memory_peak``, run in a fresh process per framework
``results``        ``Results``: every raw timing of a run, its medians
``runner``         ``run``: warm-ups, interleaved rounds, memory
``report``         ``summary``, ``format_report``, ``sweep_series``, ``results_json``
``threads``        the threads sweep (``--threads 1,2,4``): runs interleaved by count, the scaling
``__main__``       ``python -m backprop.bench --memory FRAMEWORK`` (the memory subprocess)
=================  ==============================================================================
"""

from __future__ import annotations

from .jaxrun import jax_reshape_trial, jax_trial
from .machine import environment, framework_version, gemm_peak
from .memory import memory_peak
from .ours import ours_trial
from .pinning import pinned_to_one_core, usable_cores
from .probe import core_probe
from .pytorch import torch_nchw_trial, torch_trial
from .report import format_report, peak_share_error, peak_share_text, results_json, summary, sweep_series
from .results import Results
from .runner import blas_threads_limited, run
from .threads import format_sweep as format_threads_sweep
from .threads import sweep as threads_sweep
from .threads import sweep_json as threads_sweep_json
from .workloads import (
    FRAMEWORKS,
    FULL,
    GEMM_SHAPES,
    NAMES,
    ONLY_ON,
    QUICK,
    TIMED,
    WORKLOADS,
    Data,
    Sizes,
    Spec,
    Trial,
    cnn_macs,
    conv2d_macs,
    first_layer_macs,
    flops_per_sample,
    lenet5_macs,
    linear_macs,
    macs_per_sample,
    make_data,
    resnet_macs,
    runs_on,
    spec_of,
)

__all__ = [
    "FRAMEWORKS",
    "FULL",
    "GEMM_SHAPES",
    "NAMES",
    "ONLY_ON",
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
    "core_probe",
    "environment",
    "first_layer_macs",
    "flops_per_sample",
    "format_report",
    "format_threads_sweep",
    "framework_version",
    "gemm_peak",
    "jax_reshape_trial",
    "jax_trial",
    "lenet5_macs",
    "linear_macs",
    "macs_per_sample",
    "make_data",
    "memory_peak",
    "ours_trial",
    "peak_share_error",
    "peak_share_text",
    "pinned_to_one_core",
    "resnet_macs",
    "results_json",
    "run",
    "runs_on",
    "spec_of",
    "summary",
    "sweep_series",
    "threads_sweep",
    "threads_sweep_json",
    "torch_nchw_trial",
    "torch_trial",
    "usable_cores",
]
