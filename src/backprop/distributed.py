"""Synchronous data parallelism over MPI: exactly SGD on the global batch, split across P processes.

``DataParallel`` is a training strategy (``strategy.py``: ``fit``'s one ``train_step`` asks it to
``shard`` each batch and to ``reduce`` the shard's gradients). Every rank builds the same model
from the same seed and draws the same permutation, so every rank knows every global
mini-batch. ``DataParallel`` gives rank ``r`` its contiguous shard of
each batch of ``B`` samples (``P`` shards whose sizes ``n_r`` differ by at most one, see
``shard_bounds``). Each rank runs forward and backward on its shard; its gradient ``g_r`` is
the gradient of the shard's mean loss, ``g_r = (1/n_r) sum_{i in shard r} dl_i/dw``, so

    dL/dw = (1/B) sum_i dl_i/dw = sum_r (n_r / B) g_r

is the gradient of the global batch's mean loss: each rank scales its gradient by ``n_r / B``
(by 1 for a loss with ``reduction="sum"``, whose shard gradients already add up) while packing
it into one flat buffer, and a single ``Allreduce`` per step sums the buffers. The same buffer
carries the step's scaled loss, the shard's count of correct predictions and the Ctrl-C flag,
so every rank gets the same numbers, decides the finite check, early stopping and interruption
the same way, and applies the same optimiser step: the parameters stay bit-identical across
ranks (``check_every=N`` verifies it every N steps).

Imported only when asked for (``import backprop`` does not import mpi4py)::

    from mpi4py import MPI
    from backprop.distributed import DataParallel
    bp.fit(model, loss, optimizer, x, y, batch_size=64, distributed=DataParallel(MPI.COMM_WORLD))

run with ``mpiexec -n P python -m mpi4py script.py`` (``-m mpi4py`` aborts the whole job when
one rank raises; the command line's own job control is ``cli/distributed.py``). Only rank 0 logs
and writes checkpoints.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from typing import Any

import numpy as np
from mpi4py import MPI

from . import validation
from .layers.base import Layer
from .losses import Loss

#: How shard gradients are combined: "samples" weights shard r by n_r / B (the global batch's
#: gradient, exact); "ranks" weights every shard by 1 / P (a plain average of the shards' mean
#: gradients), which is wrong whenever the shards differ in size. "ranks" exists as the
#: negative control of the tests and to show the difference; never train with it.
WEIGHTINGS = ("samples", "ranks")

# The scalars that ride after the gradients in the step's buffer.
_LOSS, _CORRECT, _INTERRUPT = -3, -2, -1


def shard_bounds(start: int, stop: int, rank: int, size: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous part ``[lo, hi)`` of ``[start, stop)`` split into ``size`` parts.

    With ``B = stop - start = q size + m``, the first ``m`` ranks take ``q + 1`` samples and the
    others ``q``: sizes differ by at most one and a batch smaller than ``size`` leaves some
    ranks with none.
    """
    q, m = divmod(stop - start, size)
    lo = start + rank * q + min(rank, m)
    return lo, lo + q + (1 if rank < m else 0)


class DataParallel:
    """The distributed strategy ``fit``, ``train_step`` and ``evaluate`` consult (see the module doc).

    Parameters
    ----------
    comm : an mpi4py communicator, usually ``MPI.COMM_WORLD``.
    check_every : every N steps, check that the parameters are bit-identical on every rank
        (a digest per parameter, gathered); a mismatch raises RuntimeError on every rank.
    weighting : "samples" (exact, the default) or "ranks" (see ``WEIGHTINGS``).
    """

    def __init__(self, comm: Any, check_every: int | None = None, weighting: str = "samples") -> None:
        if not hasattr(comm, "Allreduce") or not hasattr(comm, "Get_rank"):
            raise TypeError(f"DataParallel: comm must be an mpi4py communicator, got {type(comm).__name__}")
        check_every = validation.positive_integer_or_none("DataParallel", "check_every", check_every)
        if weighting not in WEIGHTINGS:
            raise ValueError(f"DataParallel: weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.check_every = None if check_every is None else int(check_every)
        self.weighting = weighting
        #: set by ``fit`` to its Ctrl-C flag; packed into every step's buffer
        self.interrupt_requested: Any = None
        #: True once any rank's Ctrl-C flag has gone through a step's all-reduce
        self.interrupted = False
        self._grads: list[np.ndarray] = []
        self._views: list[np.ndarray] = []
        self._states: list[np.ndarray] = []
        self._state_views: list[np.ndarray] = []
        self._buffer: np.ndarray | None = None
        #: seconds spent in the step's Allreduce, summed (the benchmark reads it)
        self.allreduce_seconds = 0.0

    @property
    def is_root(self) -> bool:
        """Rank 0: the one that prints and writes files."""
        return self.rank == 0

    def shard(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's part of the global batch ``[start, stop)`` (``shard_bounds``)."""
        return shard_bounds(start, stop, self.rank, self.size)

    def bind(self, model: Layer) -> None:
        """Allocate the step's flat buffer for ``model``'s gradients (once; ``fit`` calls it).

        Layout: every gradient, flattened, in ``model.grads`` order, then the three scalars.
        The buffer has the parameters' dtype, so a float32 model sends float32.
        """
        grads: list[np.ndarray] = []
        for g in model.grads.values():
            assert g is not None  # fuses_updates is False: the backward formed every gradient
            grads.append(g)
        states = list(getattr(model, "buffers", {}).values())
        if (
            self._buffer is not None
            and len(grads) == len(self._grads)
            and all(a is b for a, b in zip(grads, self._grads))
            and len(states) == len(self._states)
            and all(a is b for a, b in zip(states, self._states))
        ):
            return
        dtype = grads[0].dtype if grads else np.dtype(np.float64)
        total = sum(g.size for g in grads) + sum(b.size for b in states)
        buffer = np.zeros(total + 3, dtype=dtype)
        views, offset = [], 0
        for array in [*grads, *states]:
            views.append(buffer[offset : offset + array.size].reshape(array.shape))
            offset += array.size
        self._grads, self._views, self._buffer = grads, views[: len(grads)], buffer
        self._states, self._state_views = states, views[len(grads) :]

    #: Every gradient is all-reduced, so no optimiser may consume one inside the backward.
    fuses_updates = False

    def watch(self, flag: Any) -> None:
        """The flag Ctrl-C and SIGTERM set (``fit`` passes it); packed into every step's buffer."""
        self.interrupt_requested = flag

    def stop_requested(self) -> bool:
        """Whether any rank's flag went through the last step's all-reduce: every rank stops alike."""
        return self.interrupted

    def reduce(
        self, model: Layer, loss: Loss, value: float, correct: int, count: int, global_size: int
    ) -> tuple[float, int]:
        """The step's one Allreduce, after forward and backward on this rank's shard of ``count``.

        Afterwards every gradient in ``model.grads`` holds the global batch's gradient (the
        same on every rank). Returns the global batch's loss ``sum_r w_r L_r`` and its count of
        correct predictions. A shard whose loss is not finite has skipped its backward: its
        loss makes the sum non-finite on every rank, and ``train_step`` stops everywhere.
        """
        self.bind(model)
        buffer = self._buffer
        assert buffer is not None
        if self.weighting == "ranks":
            weight = 1.0 / self.size
        else:
            weight = count / global_size if loss.reduction == "mean" else 1.0
        if count and math.isfinite(value):
            # Scaling and packing are one pass: g_r * w_r written straight into the buffer.
            for g, view in zip(self._grads, self._views):
                np.multiply(g, weight, out=view)
            # BatchNorm's running statistics: each rank moved them by its shard's statistics;
            # they leave the all-reduce as the ranks' average weighted by shard size.
            for state, view in zip(self._states, self._state_views):
                np.multiply(state, count / global_size, out=view)
        else:
            buffer[:_LOSS] = 0
        buffer[_LOSS] = value * weight
        buffer[_CORRECT] = correct
        flag = self.interrupt_requested
        buffer[_INTERRUPT] = 1.0 if flag is not None and flag.is_set() else 0.0
        started = MPI.Wtime()
        self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        self.allreduce_seconds += MPI.Wtime() - started
        for g, view in zip(self._grads, self._views):
            np.copyto(g, view)
        for state, view in zip(self._states, self._state_views):
            np.copyto(state, view)
        self.interrupted = bool(buffer[_INTERRUPT] > 0)
        return float(buffer[_LOSS]), round(float(buffer[_CORRECT]))

    def forward_backward(
        self, model: Layer, loss: Loss, xb: np.ndarray, yb: np.ndarray, global_size: int
    ) -> tuple[float, int]:
        """Deprecated: ``fit``'s one ``train_step`` runs forward and backward, then ``reduce``."""
        warnings.warn(
            "DataParallel.forward_backward is deprecated: train_step runs forward and backward and"
            " calls DataParallel.reduce",
            DeprecationWarning,
            stacklevel=2,
        )
        from .training import forward_backward

        value, correct = forward_backward(model, loss, xb, yb)
        return self.reduce(model, loss, value, correct, xb.shape[0], global_size)

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over the ranks, in float64 (for evaluation totals)."""
        buffer = np.asarray(values, dtype=np.float64)
        self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        return [float(v) for v in buffer]

    def after_update(self, model: Layer, step: int) -> None:
        """Every ``check_every`` steps, check the replicas (``check_replicas``)."""
        if self.check_every is not None and step % self.check_every == 0:
            self.check_replicas(model, f"after step {step}")

    def check_replicas(self, model: Layer, when: str = "now") -> None:
        """Raise RuntimeError on every rank unless every parameter is bit-identical on every rank.

        Each rank hashes each parameter's bytes (BLAKE2b, 16 bytes); one Allgather brings all
        digests to all ranks, which compare them the same way.
        """
        arrays = {**model.params, **getattr(model, "buffers", {})}
        names = list(arrays)
        mine = np.frombuffer(
            b"".join(
                hashlib.blake2b(np.ascontiguousarray(p).tobytes(), digest_size=16).digest()
                for p in arrays.values()
            ),
            dtype=np.uint8,
        ).reshape(len(names), 16)
        every = np.empty((self.size, *mine.shape), dtype=np.uint8)
        self.comm.Allgather(mine, every)
        differ = []
        for i, name in enumerate(names):
            ranks = [r for r in range(1, self.size) if not np.array_equal(every[r, i], every[0, i])]
            if ranks:
                differ.append(f"{name} on rank(s) {ranks}")
        if differ:
            raise RuntimeError(
                f"DataParallel: the replicas diverged {when}: parameters differ from rank 0's: "
                + "; ".join(differ)
            )

    def broadcast_text(self, text: str | None) -> str:
        """Deprecated: ``backprop.cli.distributed.broadcast_text(comm, text)``."""
        from .cli import distributed as jobs

        _moved("broadcast_text")
        return jobs.broadcast_text(self.comm, text)

    def abort(self, message: str, code: int = 1) -> None:
        """Deprecated: ``backprop.cli.distributed.abort(comm, message, code)``."""
        from .cli import distributed as jobs

        _moved("abort")
        jobs.abort(self.comm, message, code)

    def install_excepthook(self) -> None:
        """Deprecated: ``backprop.cli.distributed.install_excepthook(comm)``, or ``python -m mpi4py``."""
        from .cli import distributed as jobs

        _moved("install_excepthook")
        jobs.install_excepthook(self.comm)

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size}, weighting={self.weighting!r})"


def _moved(name: str) -> None:
    warnings.warn(
        f"DataParallel.{name} is deprecated: job control belongs to the command line, see"
        f" backprop.cli.distributed.{name}(comm, ...) (or run a script with python -m mpi4py)",
        DeprecationWarning,
        stacklevel=3,
    )
