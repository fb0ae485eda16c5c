"""How many samples inference takes at a time: ``batch_size="auto"`` in ``predict`` and ``evaluate``.

A batch whose activations stay in the core's caches runs faster. For the benchmark's CNN,
``predict`` of 10,000 images took 1.32 s at batch 64 and 1.71 s at batch 1,000 (one core of
an AVX-512 Xeon), while the MLP, whose activations are about 1 KB a sample, was fastest at
1,000. One fixed number cannot suit both, so the batch follows the activations: one sample
runs through the layers first (a probe, its output discarded), its largest activation is
measured, and the batch is as many samples as fit ``ACTIVATION_BUDGET`` bytes of it, a power
of two from ``MIN_BATCH`` to ``MAX_BATCH``. The rule depends on shapes only, so the same
model and data always get the same batches.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from . import validation
from .layers.base import Layer

BatchSize = int | None | Literal["auto"]

ACTIVATION_BUDGET = 8 << 20  # bytes of one layer's output per batch
MIN_BATCH = 16
MAX_BATCH = 1024


def _nbytes(a: Any) -> int:
    """Bytes of an array's values (a SciPy sparse matrix counted as if dense)."""
    return int(np.prod(a.shape)) * np.dtype(a.dtype).itemsize


def largest_activation(model: Layer, sample: Any) -> int:
    """Bytes of the largest array one sample becomes on its way through ``model`` (its input included).

    A ``Sequential`` runs layer by layer so that every output is seen; any other layer shows
    its input and output only.
    """
    largest = _nbytes(sample)
    layers = getattr(model, "layers", None)
    if layers is None:
        return max(largest, _nbytes(model(sample)))
    for layer in layers:
        sample = layer(sample)
        largest = max(largest, _nbytes(sample))
    return largest


def auto_batch_size(model: Layer, x: Any) -> int:
    """The batch for inference on ``x``: all of it up to ``MIN_BATCH`` samples, else by activation size."""
    n = x.shape[0]
    if n <= MIN_BATCH:
        return max(n, 1)
    fits = ACTIVATION_BUDGET // max(1, largest_activation(model, x[:1]))
    batch = 1 << max(0, int(fits).bit_length() - 1)  # the power of two at or below
    return min(max(batch, MIN_BATCH), MAX_BATCH, n)


def check_batch_size(owner: str, batch_size: Any) -> BatchSize:
    """``batch_size`` checked: a positive integer, None (everything at once) or ``"auto"``."""
    if isinstance(batch_size, str) and batch_size == "auto":
        return "auto"
    if batch_size is not None and (not validation.is_integer(batch_size) or batch_size < 1):
        expected = 'a positive integer, None or "auto"'
        raise ValueError(f"{owner}: batch_size must be {expected}, got {batch_size!r}")
    return None if batch_size is None else int(batch_size)


def resolve_batch_size(batch_size: BatchSize, model: Layer, x: Any) -> int | None:
    """A checked ``batch_size`` as a number of samples (None: everything at once), ``"auto"`` worked out."""
    return auto_batch_size(model, x) if batch_size == "auto" else batch_size
