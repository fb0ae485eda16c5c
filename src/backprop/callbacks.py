"""What ``fit`` does besides the steps, one callback a job: progress, the epoch's line, the schedule,
early stopping, checkpoints, a user's own functions.

A ``Callback`` is told about the run at five points, each with the ``TrainState``::

    on_fit_begin        once, after a resume has put the state back
    on_epoch_begin      before each epoch's first step (a resumed epoch's next step)
    on_step_end         after every step: ``state.step`` counts it, ``state.last_loss`` is its loss
    on_epoch_end        after the epoch's metrics and validation (``state.logs``, ``state.history``)
    on_fit_end          once, however the run ended (``state.completed`` says whether normally)

They run in the order of the list ``fit`` builds: the progress bar, the divergence guard, the
schedule, the user's callbacks, early stopping, the epoch's line, the checkpoint; so the schedule
has stepped and early stopping has decided when a checkpoint is written. A callback that stops
the run sets ``state.history.stop_reason``. One with state (early stopping's best weights) gives
it through ``state_dict`` and takes it back through ``load_state_dict``, and a checkpoint holds it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import save_checkpoint
from .state import TrainState


class CheckpointError(OSError):
    """The first checkpoint of a run could not be written: training stopped rather than go on
    into a disk or folder that cannot take the result. Later failed writes only warn."""


class Callback:
    """Base: every hook does nothing."""

    def on_fit_begin(self, state: TrainState) -> None:
        """Once, before the first step (after a resume has put the state back)."""

    def on_epoch_begin(self, state: TrainState) -> None:
        """Before each epoch's first step, or a resumed epoch's next one."""

    def on_step_end(self, state: TrainState) -> None:
        """After every step."""

    def on_epoch_end(self, state: TrainState) -> None:
        """After the epoch's metrics, its validation and the history."""

    def on_fit_end(self, state: TrainState) -> None:
        """Once at the end, however the run ended."""


class CallbackList(Callback):
    """The callbacks of one ``fit``, each hook passed on to every one, in order."""

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)

    def on_fit_begin(self, state: TrainState) -> None:
        for callback in self.callbacks:
            callback.on_fit_begin(state)

    def on_epoch_begin(self, state: TrainState) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(state)

    def on_step_end(self, state: TrainState) -> None:
        for callback in self.callbacks:
            callback.on_step_end(state)

    def on_epoch_end(self, state: TrainState) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(state)

    def on_fit_end(self, state: TrainState) -> None:
        for callback in self.callbacks:
            callback.on_fit_end(state)


class EpochFunction(Callback):
    """A plain function ``f(state)`` called after each epoch; returning ``True`` stops the run.

    What ``fit(callbacks=[f])`` has always taken, and still does.
    """

    def __init__(self, function: Callable[[TrainState], Any]) -> None:
        self.function = function

    def on_epoch_end(self, state: TrainState) -> None:
        if self.function(state) is True and state.history.stop_reason is None:
            state.history.stop_reason = f"stopped by a callback after epoch {state.epoch}"


class ProgressBar(Callback):
    """A tqdm bar over each epoch's samples, on a terminal only (on a pipe, nothing)."""

    def __init__(self, samples: int, epochs: int) -> None:
        self.samples, self.epochs = samples, epochs
        self._bar: Any = None

    def on_fit_begin(self, state: TrainState) -> None:
        if sys.stderr.isatty():
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.samples, unit="sample", unit_scale=True, leave=False, dynamic_ncols=True
            )

    def on_epoch_begin(self, state: TrainState) -> None:
        if self._bar is not None:
            self._bar.reset()
            self._bar.set_description(f"epoch {state.epoch + 1}/{self.epochs}")
            self._bar.update(min(state.batch * state.batch_size, self.samples))

    def on_step_end(self, state: TrainState) -> None:
        if self._bar is not None:
            self._bar.update(state.last_count)
            self._bar.set_postfix(loss=f"{state.last_loss:.4f}", refresh=False)

    def on_fit_end(self, state: TrainState) -> None:
        if self._bar is not None:
            self._bar.close()


class EpochLine(Callback):
    """One summary line per epoch through ``log``: its metrics, its time and its samples per second."""

    def __init__(self, samples: int, epochs: int, log: Callable[[str], None]) -> None:
        self.samples, self.epochs, self.log = samples, epochs, log
        self._started, self._first = 0.0, 0

    def on_epoch_begin(self, state: TrainState) -> None:
        self._started, self._first = time.perf_counter(), state.batch * state.batch_size

    def on_epoch_end(self, state: TrainState) -> None:
        seconds = time.perf_counter() - self._started
        count = self.samples - min(self._first, self.samples)  # fewer in a resumed epoch
        metrics = "  ".join(f"{key} {value:.4f}" for key, value in state.logs.items())
        self.log(
            f"epoch {state.epoch}/{self.epochs}  {metrics}  {seconds:.2f}s"
            f"  {count / max(seconds, 1e-9):,.0f} samples/s"
        )


class ScheduleStep(Callback):
    """The learning-rate schedule's ``step()`` after each epoch."""

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule

    def on_epoch_end(self, state: TrainState) -> None:
        self.schedule.step()


class DivergenceGuard(Callback):
    """Keeps a copy of the weights each epoch starts with, so a diverged run never ends on inf weights.

    The loss is checked before each update (``train_step``), so the weights in place are those
    of the last step whose loss was finite; only if that step's update itself overflowed are
    they replaced by the epoch's first (a copy per epoch costs nothing, a copy per step would
    cost a pass over every weight each step).
    """

    def __init__(self) -> None:
        self._start: list[np.ndarray] = []

    def on_epoch_begin(self, state: TrainState) -> None:
        params = list(state.model.params.values())
        if len(self._start) != len(params):
            self._start = [p.copy() for p in params]
        for saved, param in zip(self._start, params):
            np.copyto(saved, param)

    def rescue(self, state: TrainState) -> str:
        """Make the weights finite after a divergence; return what was kept, for the message."""
        params = list(state.model.params.values())
        if all(np.isfinite(param).all() for param in params):
            return "the weights of the last step with a finite loss were kept"
        for param, saved in zip(params, self._start):
            np.copyto(param, saved)
        return (
            f"the last update overflowed, so the weights from the start of epoch {state.epoch + 1}"
            " were restored"
        )


#: The prefix of a buffer's name among early stopping's best weights.
_BUFFERS = "buffers/"


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs without a lower watched loss; end with the best weights.

    The watched value is the validation loss, or the training loss without validation data.
    """

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_value = math.inf
        self.waited = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, state: TrainState) -> None:
        watched = state.logs.get("val_loss", state.logs["loss"])
        if watched < self.best_value:
            state.history.best_epoch = state.epoch
        if self.update(state.model, watched):  # its reason wins over a callback's of the same epoch
            state.history.stop_reason = f"early stopping: no improvement for {self.patience} epochs"

    def on_fit_end(self, state: TrainState) -> None:
        if state.completed and self.best_weights is not None:
            model, best = state.model, self.best_weights
            model.load_state_dict({key: value for key, value in best.items() if not key.startswith(_BUFFERS)})
            for name, array in getattr(model, "buffers", {}).items():
                np.copyto(array, best[_BUFFERS + name])

    def update(self, model: Any, value: float) -> bool:
        """Record one epoch's ``value``; True when training should stop.

        The best weights are the parameters and the buffers (BatchNorm's running statistics, kept
        as ``"buffers/<name>"``): restored weights with another epoch's statistics would not be
        the best epoch's model.
        """
        if value < self.best_value:
            self.best_value, self.waited = value, 0
            buffers = {_BUFFERS + name: array.copy() for name, array in getattr(model, "buffers", {}).items()}
            self.best_weights = model.state_dict() | buffers
            return False
        self.waited += 1
        return self.waited >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """``patience``, ``best_value`` (None for none yet), ``waited``, and the best weights as arrays
        keyed by parameter name."""
        state: dict[str, Any] = {
            "patience": self.patience,
            "best_value": None if self.best_value == math.inf else self.best_value,
            "waited": self.waited,
        }
        return state | (self.best_weights or {})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what ``state_dict`` gave; everything is checked before anything changes."""
        best = state["best_value"]
        best_value = math.inf if best is None else float(best)
        waited = int(state["waited"])
        weights = {key: value for key, value in state.items() if isinstance(value, np.ndarray)}
        if int(state["patience"]) != self.patience:
            raise ValueError(f"it was made with patience {state['patience']}, this run has {self.patience}")
        self.best_value, self.waited, self.best_weights = best_value, waited, weights or None


class Checkpoints(Callback):
    """The whole training state written to ``path`` after each epoch and every ``every`` steps.

    ``write(state, finished)`` is the one write (``checkpoint.save_checkpoint``, atomic). A
    failed write keeps the previous file and warns; the first write of the run is the
    exception: if it fails, nothing this run does can be kept, so ``CheckpointError`` stops it.
    ``seconds`` gives the run's wall time so far, which the checkpoint records.
    """

    def __init__(
        self,
        path: str | Path,
        every: int | None,
        arguments: dict[str, Any],
        metadata: dict[str, Any],
        seconds: Callable[[], float],
    ) -> None:
        self.path = Path(path)
        self.every = every
        self.arguments = arguments
        self.metadata = metadata
        self.seconds = seconds
        self.written = False

    def on_step_end(self, state: TrainState) -> None:
        # not at the epoch's last step: the epoch's own checkpoint follows it
        if self.every is not None and state.step % self.every == 0 and state.batch < state.steps_per_epoch:
            self.write(state, finished=False)

    def on_epoch_end(self, state: TrainState) -> None:
        self.write(state, finished=state.epoch >= state.epochs or state.history.stop_reason is not None)

    def write(self, state: TrainState, finished: bool) -> bool:
        """Write the checkpoint; False when the write failed (warned)."""
        try:
            save_checkpoint(state, self.path, self.arguments, finished, self.seconds(), self.metadata)
        except OSError as error:
            reason = error.strerror or str(error)
            if not self.written:
                raise CheckpointError(
                    f"fit: cannot write the checkpoint {self.path} ({reason}); training stopped at epoch"
                    f" {state.epoch + (state.batch > 0)}, step {state.step}, rather than go on into a"
                    " folder that cannot take the result",
                ) from error
            print(
                f"backprop: warning: could not write the checkpoint {self.path} ({reason});"
                " the previous checkpoint is kept",
                file=sys.stderr,
            )
            return False
        self.written = True
        return True
