"""Training as optimisation: ``fit`` repeats forward, loss, backward and ``w = w - eta dL/dw``.

``batch_size=None`` is the seeds' simple gradient descent (the whole data set every step);
an integer is stochastic mini-batch gradient descent: each epoch draws a fresh permutation
from a generator seeded by ``seed`` and walks it in batches, so every sample is used once per
epoch and the same seed gives bit-identical weights on the same machine.

The loop is three functions over one ``TrainState`` (``state.py``): ``fit`` runs epochs,
``train_epoch`` walks one epoch's batches from wherever the state stands, ``train_step`` does
one forward, backward and update. Because everything lives in the state, a checkpoint
(``checkpoint.py``) can save it between two steps and ``fit(..., resume=path)`` continue with
bit-identical results. With ``distributed=`` (``distributed.py``) the same loop runs on every
rank of an MPI job: each step trains on the rank's shard of the global batch and one
all-reduce combines the gradients, so every rank takes the global batch's step.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .accuracy import classifies, correct_count
from .checkpoint import read_checkpoint, restore, save_checkpoint
from .datacheck import check_data
from .layers.activations import sigmoid_forward, softmax_forward
from .layers.base import Layer, backward_of
from .losses import Loss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy
from .optim import LRSchedule
from .state import EarlyStopping, History, TrainState

if TYPE_CHECKING:
    from .distributed import DataParallel

Callback = Callable[[TrainState], Any]


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite; the message says where and what to try."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during ``fit``: the step in flight finished and, if asked for, a checkpoint
    was written.

    ``checkpoint`` is the path written (``None`` without ``checkpoint=`` or when the write
    failed); ``state`` is the training state at the interruption; ``signal`` the signal's number
    (``signal.SIGINT`` for Ctrl-C, ``signal.SIGTERM`` from ``kill``, ``timeout``, ``docker stop``,
    Slurm or Kubernetes).
    """

    def __init__(
        self, message: str, state: TrainState, checkpoint: Path | None, signal: int = 2
    ) -> None:
        super().__init__(message)
        self.state = state
        self.checkpoint = checkpoint
        self.signal = signal


class CheckpointError(OSError):
    """The first checkpoint of a run could not be written: training stopped rather than go on
    into a disk or folder that cannot take the result. Later failed writes only warn."""


def _check_batch_size(batch_size: int | None, name: str) -> None:
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise ValueError(f"{name}: batch_size must be a positive integer or None, got {batch_size!r}")


def _positive_or_none(value: Any, what: str) -> None:
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if value is not None and (not whole or value < 1):
        raise ValueError(f"fit: {what} must be a positive integer or None, got {value!r}")


def fit(
    model: Layer,
    loss: Loss,
    optimizer: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 10,
    batch_size: int | None = 64,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    progress: bool = True,
    shuffle: bool = True,
    patience: int | None = None,
    callbacks: Iterable[Callback] = (),
    log: Callable[[str], None] = print,
    schedule: LRSchedule | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    checkpoint_metadata: Mapping[str, Any] | None = None,
    resume: str | Path | None = None,
    distributed: DataParallel | None = None,
) -> History:
    """Train ``model`` on ``(x, y)`` and return the per-epoch ``History``.

    Parameters
    ----------
    model, loss, optimizer : the network, a ``bp`` loss, an optimiser built on the model.
    x, y : inputs ``(N, ...)`` and targets (labels ``(N,)`` or values ``(N, ...)``); ``x`` is
        converted once to the model's dtype. Both are checked before the first step (see
        ``datacheck.check_data``): NaN inputs are refused, not trained into a divergence.
    epochs : passes over the data.
    batch_size : samples per step; ``None`` for full-batch gradient descent.
    validation_data : ``(x_val, y_val)`` evaluated after each epoch (in ``eval()`` mode).
    seed : seeds the shuffling; the same seed gives the same weights.
    progress : a progress bar (only on a terminal) and one summary line per epoch via ``log``.
    shuffle : draw a new permutation every epoch (else keep the data order).
    patience : early stopping: stop after this many epochs without a lower validation loss
        (training loss without validation data) and restore the best weights.
    callbacks : ``callback(state)`` after each epoch with the ``TrainState`` (``state.epoch``
        finished epochs, ``state.logs`` the epoch's metrics); returning ``True`` stops training.
    schedule : a learning-rate schedule (``bp.CosineLR``, ``bp.StepLR``) stepped after each epoch.
    checkpoint : a file that receives the whole training state at the end of every epoch and,
        with ``checkpoint_every=N``, after every N steps too (atomically: the previous file
        stays whole if a write fails, and a warning says so). If the first write of this call
        fails (a full disk, a read-only folder) ``CheckpointError`` stops training at once.
    checkpoint_metadata : the caller's JSON-serialisable record, kept in the checkpoint.
    resume : a checkpoint to continue from: the model, optimiser and schedule (built as for the
        original run) take its state and training goes on from the step after it, ending with
        the same weights as a run that was never stopped. ``fit``'s other arguments must be
        those of the original run.
    distributed : ``backprop.distributed.DataParallel(comm)`` to train data-parallel on every
        rank of an MPI job (call ``fit`` the same way on every rank, with the same data and
        seed): ``batch_size`` is the global batch, split across the ranks; evaluation is split
        and reduced; only rank 0 logs, shows progress and writes the checkpoint.

    With ``bp.SGD`` (no weight decay, no Nesterov) each step's update is fused into the
    weight-gradient products of the Linear layers with at least 16,384 weights, so their
    ``grads["weight"]`` are not written by the steps (``SGD``'s docstring;
    ``SGD(..., fused=False)`` writes them).

    If a loss becomes NaN or infinite, training stops at once, before that step's update:
    the weights stay those of the last step with a finite loss (or, if that step's update
    overflowed, those the epoch started with) and ``DivergenceError`` says at which step.
    Ctrl-C or SIGTERM (in the main thread) finishes the step in flight, writes the checkpoint
    (if any) and raises ``TrainingInterrupted``; a second one stops at once.
    """
    _check_batch_size(batch_size, "fit")
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    _positive_or_none(patience, "patience")
    _positive_or_none(checkpoint_every, "checkpoint_every")
    if checkpoint_every is not None and checkpoint is None:
        raise ValueError("fit: checkpoint_every needs checkpoint=PATH, the file to write")
    if checkpoint is not None and not Path(checkpoint).parent.is_dir():
        raise ValueError(f"fit: checkpoint {checkpoint}: the folder {Path(checkpoint).parent} does not exist")
    if schedule is not None and schedule.optimizer is not optimizer:
        raise ValueError("fit: the schedule must be built on the optimiser passed to fit")
    if distributed is not None and not distributed.is_root:
        progress = False
    x, y = check_data(model, loss, x, y, "fit")
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a pair (x_val, y_val)")
        validation_data = check_data(model, loss, *validation_data, "fit validation_data")
    # The loss says what the outputs are: logits of a softmax or of a sigmoid for the fused
    # losses, already the predictions (values, or probabilities after a Sigmoid/Softmax) otherwise.
    model.output_transform = (
        "softmax" if isinstance(loss, SoftmaxCrossEntropy)
        else "sigmoid" if isinstance(loss, SigmoidBinaryCrossEntropy)
        else None
    )

    n = len(x)
    size = n if batch_size is None else min(int(batch_size), n)
    state = TrainState(
        model,
        loss,
        optimizer,
        np.random.default_rng(seed),
        schedule=schedule,
        early_stopping=None if patience is None else EarlyStopping(int(patience)),
        distributed=distributed,
    )
    arguments = {
        "epochs": int(epochs),
        "batch_size": None if batch_size is None else int(batch_size),
        "shuffle": bool(shuffle),
        "seed": None if seed is None else int(seed),
        "patience": None if patience is None else int(patience),
        "samples": n,
        "steps_per_epoch": math.ceil(n / size),
        "sample_shape": list(x.shape[1:]),
        "target_shape": list(y.shape[1:]),
        "loss": repr(loss),
        "validation_samples": None if validation_data is None else len(validation_data[0]),
    }
    if resume is not None:
        restore(state, read_checkpoint(resume), arguments)
    writes = distributed is None or distributed.is_root
    saver = _Saver(state, checkpoint if writes else None, checkpoint_every, arguments, checkpoint_metadata)
    bar = _progress_bar(n, progress)
    params = list(model.params.values())
    epoch_start = [p.copy() for p in params]
    model.train()
    # Data-parallel steps all-reduce every gradient, so none may be consumed by a fused update.
    fused = optimizer.fused_updates() if distributed is None else contextlib.nullcontext()
    try:
        with _deferred_interrupt() as interrupted, fused:
            if distributed is not None:
                # Ranks agree on Ctrl-C through the step's all-reduce, so all stop at the same step.
                distributed.interrupt_requested = interrupted

            def after_step(value: float, count: int, last: bool) -> None:
                if bar is not None:
                    bar.update(count)
                    bar.set_postfix(loss=f"{value:.4f}", refresh=False)
                if interrupted.is_set() if distributed is None else distributed.interrupted:
                    raise saver.interrupted(interrupted.signal)
                if not last:
                    saver.step_done()

            while state.epoch < epochs and state.history.stop_reason is None:
                started, first = time.perf_counter(), state.batch * size
                if bar is not None:
                    bar.reset()
                    bar.set_description(f"epoch {state.epoch + 1}/{epochs}")
                    bar.update(min(first, n))
                for param, saved in zip(params, epoch_start):
                    np.copyto(saved, param)
                try:
                    train_epoch(state, x, y, size, shuffle, after_step)
                except DivergenceError as error:
                    raise _diverged(str(error), params, epoch_start, state.epoch + 1) from None
                _end_epoch(state, n, validation_data, callbacks)
                if progress:
                    seconds = time.perf_counter() - started
                    log(_summary(state.epoch, epochs, state.logs, seconds, n - min(first, n)))
                saver.save(finished=state.epoch >= epochs or state.history.stop_reason is not None)
    finally:
        if bar is not None:
            bar.close()
        state.history.seconds = saver.seconds()
    stopping = state.early_stopping
    if stopping is not None and stopping.best_weights is not None:
        model.load_state_dict(stopping.best_weights)
    return state.history


def train_epoch(
    state: TrainState,
    x: np.ndarray,
    y: np.ndarray,
    size: int,
    shuffle: bool,
    after_step: Callable[[float, int, bool], None] | None = None,
) -> None:
    """Walk the current epoch's batches of ``size`` samples, from ``state.batch`` on.

    At an epoch boundary the epoch's permutation is drawn first. ``after_step(value, count,
    last)`` runs after each ``train_step`` with the batch's loss, its size and whether it was
    the epoch's last batch (``fit`` uses it for the progress bar, Ctrl-C and checkpoints).
    With ``state.distributed`` each rank takes its shard of every batch.
    """
    n = len(x)
    parallel = state.distributed
    if state.batch == 0:
        state.begin_epoch(n, size, shuffle)
    for start in range(state.batch * size, n, size):
        stop = min(start + size, n)
        lo, hi = (start, stop) if parallel is None else parallel.shard(start, stop)
        if state.order is None:
            xb, yb = x[lo:hi], y[lo:hi]
        else:
            index = state.order[lo:hi]
            xb, yb = x[index], y[index]
        value = train_step(state, xb, yb, stop - start)
        if after_step is not None:
            after_step(value, stop - start, stop >= n)


def train_step(state: TrainState, xb: np.ndarray, yb: np.ndarray, global_size: int | None = None) -> float:
    """One step of gradient descent on the batch ``(xb, yb)``; returns the batch's loss.

    Forward, loss, backward (which SETS every gradient), then the optimiser's update in place;
    the state's counters and the epoch's sums advance with it. Inside ``fit`` an optimiser with
    a fused rule (plain or momentum ``SGD``) has hooks on the large Linear weights that apply
    its step inside their gradient products, leaving those gradients None (see ``SGD``).
    With ``state.distributed``, ``(xb, yb)`` is this rank's shard of a global batch of
    ``global_size`` samples; the gradients are all-reduced before the finite check, which every
    rank then decides alike.
    """
    model, loss, parallel, optimizer = state.model, state.loss, state.distributed, state.optimizer
    if parallel is None:
        outputs = model(xb)
        value = loss(outputs, yb)
        _check_finite(value, state)
        backward_of(model, loss.backward(), input_grad=False)
        optimizer.step()
        if classifies(loss):
            state.epoch_correct += correct_count(outputs, yb, loss)
        count = len(xb)
    else:
        count = len(xb) if global_size is None else global_size
        value, correct = parallel.forward_backward(model, loss, xb, yb, count)
        _check_finite(value, state)
        optimizer.step()
        state.epoch_correct += correct
        parallel.after_update(model, state.step + 1)
    state.step += 1
    state.batch += 1
    state.epoch_loss += value * count
    return value


def _check_finite(value: float, state: TrainState) -> None:
    if not math.isfinite(value):
        where = f"epoch {state.epoch + 1}, step {state.step + 1}"
        raise DivergenceError(f"fit: the loss became {value} at {where}")


def _end_epoch(
    state: TrainState,
    n: int,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    callbacks: Iterable[Callback],
) -> None:
    """Close the epoch: its metrics and validation, the schedule's step, callbacks, early stopping."""
    logs = {"loss": state.epoch_loss / n}
    if classifies(state.loss):
        logs["accuracy"] = state.epoch_correct / n
    if validation_data is not None:
        scores = evaluate(state.model, state.loss, *validation_data, distributed=state.distributed)
        logs.update({f"val_{k}": v for k, v in scores.items()})
        state.model.train()
    state.epoch += 1
    state.batch = 0
    state.order = None
    state.logs = logs
    history = state.history
    for key, value in logs.items():
        history[key].append(value)
    history.epochs_run = state.epoch
    if state.schedule is not None:
        state.schedule.step()
    stop = any(callback(state) is True for callback in callbacks)
    stopping = state.early_stopping
    if stopping is not None:
        watched = logs.get("val_loss", logs["loss"])
        if watched < stopping.best_value:
            history.best_epoch = state.epoch
        if stopping.update(state.model, watched):
            history.stop_reason = f"early stopping: no improvement for {stopping.patience} epochs"
            return
    if stop:
        history.stop_reason = f"stopped by a callback after epoch {state.epoch}"


class _Saver:
    """Writes the training state to the checkpoint file when one is due; keeps the wall time."""

    def __init__(
        self,
        state: TrainState,
        path: str | Path | None,
        every: int | None,
        arguments: dict[str, Any],
        metadata: Mapping[str, Any] | None,
    ) -> None:
        self.state = state
        self.path = None if path is None else Path(path)
        self.every = every
        self.arguments = arguments
        self.metadata = dict(metadata or {})
        try:
            json.dumps(self.metadata)
        except (TypeError, ValueError) as error:
            raise TypeError(f"fit: checkpoint_metadata must be JSON-serialisable: {error}") from None
        self.seconds_before = state.history.seconds
        self.started = time.perf_counter()
        self.written = False  # whether this call has written the checkpoint once

    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def step_done(self) -> None:
        if self.every is not None and self.state.step % self.every == 0:
            self.save(finished=False)

    def save(self, finished: bool) -> bool:
        """Write the checkpoint (if any); a failed write warns on stderr and keeps the old file.

        The first write of the call is the exception: if it fails, nothing this run does can be
        kept, so ``CheckpointError`` stops it now rather than after every remaining epoch.
        """
        if self.path is None:
            return False
        try:
            save_checkpoint(self.state, self.path, self.arguments, finished, self.seconds(), self.metadata)
        except OSError as error:
            reason = error.strerror or str(error)
            if not self.written:
                state = self.state
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

    def interrupted(self, signal_number: int) -> TrainingInterrupted:
        state = self.state
        name = "terminated (SIGTERM)" if signal_number == signal.SIGTERM else "interrupted"
        where = f"fit: {name} in epoch {state.epoch + 1} after step {state.batch} of the epoch"
        try:
            saved = self.save(finished=False)
        except CheckpointError as error:
            return TrainingInterrupted(f"{where}; {error}", state, None, signal_number)
        if saved:
            message = f"{where}; the checkpoint {self.path} holds the state"
            return TrainingInterrupted(message, state, self.path, signal_number)
        return TrainingInterrupted(f"{where}; no checkpoint was written", state, None, signal_number)


class _Interrupt(threading.Event):
    """Set by the first SIGINT or SIGTERM; ``signal`` says which came."""

    signal: int = signal.SIGINT


#: The signals that ask a run to stop: Ctrl-C, and what ``kill``, ``timeout``, ``docker stop``,
#: Slurm and Kubernetes send.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[_Interrupt]:
    """Turn the first Ctrl-C or SIGTERM into a flag the loop reads after each step; a second one
    acts at once (the handler that was there before takes it).

    Only the main thread can handle signals; elsewhere the flag is never set and the signals
    behave as usual.
    """
    interrupted = _Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return
    previous = {number: signal.getsignal(number) for number in _STOP_SIGNALS}

    def handler(signum: int, frame: Any) -> None:
        interrupted.signal = signum
        interrupted.set()
        for number, action in previous.items():
            signal.signal(number, action)

    for number in _STOP_SIGNALS:
        signal.signal(number, handler)
    try:
        yield interrupted
    finally:
        for number, action in previous.items():
            signal.signal(number, action)


def _diverged(
    message: str, params: list[np.ndarray], epoch_start: list[np.ndarray], epoch: int
) -> DivergenceError:
    """Stop without the step whose loss is not finite; make sure the weights left are finite.

    The weights in place come from the last update, whose loss was finite. Only if that update
    itself overflowed are they replaced by the weights the epoch started with (a copy per epoch
    costs nothing; a copy per step would cost a pass over every weight each step).
    """
    if all(np.isfinite(param).all() for param in params):
        kept = "the weights of the last step with a finite loss were kept"
    else:
        for param, saved in zip(params, epoch_start):
            np.copyto(param, saved)
        kept = f"the last update overflowed, so the weights from the start of epoch {epoch} were restored"
    return DivergenceError(f"{message}; training stopped and {kept}. Try a lower learning rate.")


def _summary(epoch: int, epochs: int, logs: dict[str, float], seconds: float, n: int) -> str:
    """One line per epoch; ``n`` is the samples trained on in ``seconds`` (fewer in a resumed epoch)."""
    metrics = "  ".join(f"{key} {value:.4f}" for key, value in logs.items())
    return f"epoch {epoch}/{epochs}  {metrics}  {seconds:.2f}s  {n / max(seconds, 1e-9):,.0f} samples/s"


def _progress_bar(total: int, progress: bool) -> Any:
    """A tqdm bar on a terminal; on a pipe or with ``progress=False``, nothing at all."""
    if not progress or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sample", unit_scale=True, leave=False, dynamic_ncols=True)


def _batches(n: int, batch_size: int | None) -> range:
    # max(n, 1): a rank's shard of a set smaller than the world is empty, and range needs a step.
    return range(0, n, max(n, 1) if batch_size is None else int(batch_size))


def evaluate(
    model: Layer,
    loss: Loss,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int | None = 1000,
    distributed: DataParallel | None = None,
) -> dict[str, float]:
    """``{"loss": ..., "accuracy": ...}`` over ``(x, y)`` in ``eval()`` mode (no accuracy for regression).

    The loss is the loss's own reduction applied to the whole set: the mean over all samples
    for ``reduction="mean"``, the total for ``"sum"``. With ``distributed`` (called on every
    rank with the same set) each rank evaluates its contiguous shard and the totals are summed
    across the ranks, so every rank returns the same numbers.
    """
    _check_batch_size(batch_size, "evaluate")
    x, y = check_data(model, loss, x, y, "evaluate")
    n = len(x)
    if distributed is not None:
        lo, hi = distributed.shard(0, n)
        x, y = x[lo:hi], y[lo:hi]
    was_training = model.training
    model.eval()
    try:
        total, correct = 0.0, 0
        counts_correct = classifies(loss)
        for start in _batches(len(x), batch_size):
            stop = start + (len(x) if batch_size is None else int(batch_size))
            xb, yb = x[start:stop], y[start:stop]
            outputs = model(xb)
            value = loss(outputs, yb)
            total += value * len(xb) if loss.reduction == "mean" else value
            if counts_correct:
                correct += correct_count(outputs, yb, loss)
    finally:
        model.train(was_training)
    if distributed is not None:
        total, correct = distributed.sum([total, correct])
    result = {"loss": total / n if loss.reduction == "mean" else total}
    if counts_correct:
        result["accuracy"] = correct / n
    return result


def predict(
    model: Layer, x: np.ndarray, batch_size: int | None = 1000, probabilities: bool = True
) -> np.ndarray:
    """The model's outputs for ``x`` in ``eval()`` mode, in batches.

    A classifier trained by ``fit`` with ``SoftmaxCrossEntropy`` outputs logits; its
    ``output_transform`` is then ``"softmax"`` and ``predict`` returns probabilities (pass
    ``probabilities=False`` for the logits). With ``SigmoidBinaryCrossEntropy`` it is
    ``"sigmoid"``: each output's probability ``1 / (1 + e^-z)``, by the stable two-branch sigmoid.
    """
    _check_batch_size(batch_size, "predict")
    x = np.asarray(x)
    dtype = model.dtype
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    was_training = model.training
    model.eval()
    try:
        step = len(x) if batch_size is None else int(batch_size)
        outputs = np.concatenate([model(x[start : start + step]) for start in _batches(len(x), batch_size)])
    finally:
        model.train(was_training)
    transform = getattr(model, "output_transform", None) if probabilities else None
    if transform == "softmax":
        outputs = softmax_forward(outputs)
    elif transform == "sigmoid":
        outputs = sigmoid_forward(outputs)
    return outputs
