"""How a training step is spread over processes: ``Local`` (one process) and the protocol it shares
with ``backprop.distributed.DataParallel`` (MPI, imported only when asked for).

``fit``'s loop has one ``train_step``; the strategy is what differs between one process and
many. Each step it asks the strategy for this process's part of the global batch (``shard``),
runs forward, loss and backward on it, then hands the strategy the local loss, count of correct
predictions and (through the model) the gradients to ``reduce`` into the global batch's; after
the optimiser's update, ``after_update``. ``stop_requested`` tells whether Ctrl-C or SIGTERM
came (on every rank alike, for MPI); ``sum`` adds evaluation totals; ``is_root`` is the process
that prints and writes; ``fuses_updates`` whether the optimiser may apply its step inside the
backward (MPI must all-reduce every gradient first).
"""

from __future__ import annotations

import threading
from typing import Any

from .layers.base import Layer
from .losses import Loss

__all__ = ["Local"]


class Local:
    """One process: the whole batch is its shard and nothing is reduced."""

    is_root = True
    fuses_updates = True

    def __init__(self) -> None:
        self._stop: threading.Event | None = None

    def shard(self, start: int, stop: int) -> tuple[int, int]:
        return start, stop

    def reduce(
        self, model: Layer, loss: Loss, value: float, correct: int, count: int, global_size: int
    ) -> tuple[float, int]:
        return value, correct

    def after_update(self, model: Layer, step: int) -> None:
        """Nothing to check in one process."""

    def watch(self, flag: threading.Event) -> None:
        """The flag Ctrl-C and SIGTERM set (``fit`` passes it)."""
        self._stop = flag

    def stop_requested(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def sum(self, values: list[Any]) -> list[Any]:
        return values
