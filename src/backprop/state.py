"""The training loop's state, in the open: everything ``fit`` needs to continue a run exactly.

``fit`` keeps nothing in local variables that matters after a step. A ``TrainState`` holds the
model, loss, optimiser and schedule, the shuffling generator, where the loop stands (epochs
finished, steps taken in the current epoch, the epoch's permutation), the sums of the epoch
so far, the ``History``, and the callbacks that hold state (early stopping). Callbacks receive
it; a checkpoint (``checkpoint.py``) is this object written to a file, and resuming reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .layers.base import Layer
from .losses import Loss
from .optim import LRSchedule, Optimizer


class History(dict):
    """Per-epoch lists ``history["loss"]``, ``["val_loss"]``, ``["accuracy"]``, ``["val_accuracy"]``.

    Accuracy lists stay empty for losses without classes (``MSELoss``). Attributes:
    ``epochs_run``, ``best_epoch`` (1-based, when early stopping watched a metric),
    ``stop_reason`` (``None`` when all epochs ran), ``seconds`` (wall time, summed over the
    sessions of a resumed run).
    """

    def __init__(self) -> None:
        super().__init__(loss=[], val_loss=[], accuracy=[], val_accuracy=[])
        self.epochs_run = 0
        self.best_epoch: int | None = None
        self.stop_reason: str | None = None
        self.seconds = 0.0

    def _repr_png_(self) -> bytes | None:
        """The loss and accuracy curves, which a notebook shows in place of the dict (None, and so
        the dict, before the first epoch). Drawn by ``plots.history_png`` (matplotlib, imported
        here: ``import backprop`` does not need it)."""
        if not any(self.values()):
            return None
        from .plots import history_png

        return history_png(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "lists": {key: list(values) for key, values in self.items()},
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, content: dict[str, Any]) -> History:
        history = cls()
        for key, values in content["lists"].items():
            history[key] = [float(value) for value in values]
        history.epochs_run = int(content["epochs_run"])
        history.best_epoch = content["best_epoch"]
        history.stop_reason = content["stop_reason"]
        history.seconds = float(content["seconds"])
        return history


@dataclass
class TrainState:
    """Where a training run stands, between two steps.

    ``epoch`` counts finished epochs and ``batch`` the steps taken in the current one (0 at an
    epoch boundary); ``step`` counts every step of the run. ``order`` is the current epoch's
    permutation of the samples (``None`` without shuffling). ``epoch_loss`` and
    ``epoch_correct`` are the sums over the epoch's batches so far, so a run resumed mid-epoch
    reports the same epoch metrics as one that was never stopped. ``logs`` holds the metrics
    of the last finished epoch, ``last_loss`` and ``last_count`` the last step's loss and
    samples. ``strategy`` shards the batches and reduces the gradients (``strategy.Local``, or
    ``backprop.distributed.DataParallel``, which is also ``distributed``; None in one process).
    ``early_stopping`` is ``fit``'s ``callbacks.EarlyStopping`` (None without ``patience``);
    ``completed`` is True once every epoch ran or a callback stopped the run.
    """

    model: Layer
    loss: Loss
    optimizer: Optimizer
    rng: np.random.Generator
    schedule: LRSchedule | None = None
    early_stopping: Any = None
    history: History = field(default_factory=History)
    epoch: int = 0
    batch: int = 0
    step: int = 0
    order: np.ndarray | None = None
    epoch_loss: float = 0.0
    epoch_correct: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    distributed: Any = None
    strategy: Any = None
    epochs: int = 0
    batch_size: int = 0
    steps_per_epoch: int = 0
    last_loss: float = 0.0
    last_count: int = 0
    completed: bool = False

    def state_dict(self) -> dict[str, Any]:
        """Where the loop stands: position, the epoch's sums and logs, the history, the shuffling
        generator, and the epoch's permutation (an array) while the run is part-way through one."""
        state: dict[str, Any] = {
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "epoch_loss": self.epoch_loss,
            "epoch_correct": self.epoch_correct,
            "logs": self.logs,
            "history": self.history.to_json(),
            "rng": self.rng.bit_generator.state,
        }
        if self.order is not None and self.batch > 0:
            state["order"] = self.order.astype(np.int64)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what ``state_dict`` gave; everything is checked before anything changes."""
        position = (int(state["epoch"]), int(state["batch"]), int(state["step"]))
        sums = (float(state["epoch_loss"]), int(state["epoch_correct"]))
        logs = {str(key): float(value) for key, value in dict(state["logs"]).items()}
        history = History.from_json(state["history"])
        order = state.get("order")
        if order is not None and (order.ndim != 1 or order.dtype != np.int64):
            raise ValueError(f"the saved permutation is {order.dtype} of shape {order.shape}, not one")
        # A generator of the same kind takes the state first: a malformed one fails there.
        type(self.rng.bit_generator)().state = state["rng"]
        self.rng.bit_generator.state = state["rng"]
        self.epoch, self.batch, self.step = position
        self.epoch_loss, self.epoch_correct = sums
        self.logs, self.history, self.order = logs, history, order

    def begin_epoch(self, n: int, batch_size: int, shuffle: bool) -> None:
        """Draw the epoch's permutation and reset its sums (only at an epoch boundary)."""
        self.order = self.rng.permutation(n) if shuffle and batch_size < n else None
        self.epoch_loss, self.epoch_correct = 0.0, 0
