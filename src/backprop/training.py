"""Training as optimisation: ``fit`` repeats forward, loss, backward and ``w = w - eta dL/dw``.

``batch_size=None`` is the seeds' simple gradient descent (the whole data set every step);
an integer is stochastic mini-batch gradient descent: each epoch draws a fresh permutation
from a generator seeded by ``seed`` and walks it in batches, so every sample is used once per
epoch and the same seed gives bit-identical weights on the same machine.

The loop is short, over one ``TrainState`` (``state.py``)::

    for each epoch:   callbacks.on_epoch_begin(state)
      for each batch: train_step: strategy.shard -> forward, loss, backward (every gradient SET)
                      -> strategy.reduce -> optimizer.step();  callbacks.on_step_end(state)
      _end_epoch (metrics, validation, history);  callbacks.on_epoch_end(state)

Everything else is a callback (``callbacks.py``: the progress bar, the epoch's line, the
schedule, early stopping, checkpoints, the divergence guard, the user's own) or the strategy
(``strategy.Local``, or ``distributed.DataParallel`` over MPI: each rank trains on its shard of
the global batch and one all-reduce combines the gradients). Because everything lives in the
state and its components, a checkpoint (``checkpoint.py``) can save it between two steps and
``fit(..., resume=path)`` continue with bit-identical results.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import validation
from .accuracy import classifies, correct_count
from .batching import BatchSize, check_batch_size, resolve_batch_size
from .callbacks import (
    Callback,
    CallbackList,
    CheckpointError,
    Checkpoints,
    DivergenceGuard,
    EarlyStopping,
    EpochFunction,
    EpochLine,
    ProgressBar,
    ScheduleStep,
)
from .checkpoint import read_checkpoint, restore
from .datacheck import check_data
from .layers.activations import sigmoid_forward, softmax_forward
from .layers.base import Layer, backward_of
from .layers.linear import is_sparse
from .losses import Loss, PoissonNLLLoss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy
from .optim import LRSchedule, Optimizer
from .signals import StopFlag, deferred_stop
from .state import History, TrainState
from .strategy import Local

if TYPE_CHECKING:
    from .distributed import DataParallel

__all__ = [
    "CheckpointError",
    "DivergenceError",
    "TrainingInterrupted",
    "evaluate",
    "fit",
    "predict",
    "train_epoch",
    "train_step",
]


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


def fit(
    model: Layer,
    loss: Loss,
    optimizer: Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 10,
    batch_size: int | None = 64,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    progress: bool = True,
    shuffle: bool = True,
    patience: int | None = None,
    callbacks: Iterable[Callback | Callable[[TrainState], Any]] = (),
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
    callbacks : ``backprop.callbacks.Callback`` objects (hooks at the start and end of the run,
        of each epoch and after each step, each given the ``TrainState``), or plain functions
        ``f(state)`` called after each epoch (``state.epoch`` finished epochs, ``state.logs``
        the epoch's metrics), which stop training by returning ``True``.
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
    ``grads["weight"]`` are None during and after ``fit`` (``SGD``'s docstring;
    ``SGD(..., fused=False)`` writes them).

    If a loss becomes NaN or infinite, training stops at once, before that step's update:
    the weights stay those of the last step with a finite loss (or, if that step's update
    overflowed, those the epoch started with) and ``DivergenceError`` says at which step.
    Ctrl-C or SIGTERM (in the main thread) finishes the step in flight, writes the checkpoint
    (if any) and raises ``TrainingInterrupted``; a second one stops at once.
    """
    _check_arguments(batch_size, epochs, patience, checkpoint, checkpoint_every, shuffle, progress)
    if schedule is not None and schedule.optimizer is not optimizer:
        raise ValueError("fit: the schedule must be built on the optimiser passed to fit")
    x, y = check_data(model, loss, x, y, "fit")
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a pair (x_val, y_val)")
        validation_data = check_data(model, loss, *validation_data, "fit validation_data")
    model.output_transform = _output_transform(loss)
    strategy = Local() if distributed is None else distributed
    n = x.shape[0]
    size = n if batch_size is None else min(int(batch_size), n)
    state = TrainState(
        model, loss, optimizer, np.random.default_rng(seed), schedule=schedule,
        early_stopping=None if patience is None else EarlyStopping(int(patience)),
        distributed=distributed, strategy=strategy, epochs=int(epochs), batch_size=size,
        steps_per_epoch=math.ceil(n / size),
    )  # fmt: skip
    arguments = _recorded_arguments(state, x, y, batch_size, shuffle, seed, patience, validation_data)
    metadata = _json_metadata(checkpoint_metadata)
    if resume is not None:
        restore(state, read_checkpoint(resume), arguments)
    clock, guard = _Clock(state.history.seconds), DivergenceGuard()
    writer = None
    if checkpoint is not None and strategy.is_root:
        writer = Checkpoints(checkpoint, checkpoint_every, arguments, metadata, clock.seconds)
    run = _callback_list(state, n, progress and strategy.is_root, log, guard, callbacks, writer)
    try:
        _loop(state, x, y, shuffle, validation_data, run, guard, writer)
    finally:
        state.history.seconds = clock.seconds()
        run.on_fit_end(state)
    return state.history


def _check_arguments(
    batch_size: Any, epochs: Any, patience: Any, checkpoint: Any, every: Any, shuffle: Any, progress: Any
) -> None:
    """``fit``'s scalar arguments, refused in ``validation``'s words before anything is built."""
    validation.positive_integer_or_none("fit", "batch_size", batch_size)
    validation.non_negative_integer("fit", "epochs", epochs)
    validation.positive_integer_or_none("fit", "patience", patience)
    validation.positive_integer_or_none("fit", "checkpoint_every", every)
    validation.flag("fit", "shuffle", shuffle)
    validation.flag("fit", "progress", progress)
    if every is not None and checkpoint is None:
        raise ValueError("fit: checkpoint_every needs checkpoint=PATH, the file to write")
    if checkpoint is not None and not Path(checkpoint).parent.is_dir():
        raise ValueError(f"fit: checkpoint {checkpoint}: the folder {Path(checkpoint).parent} does not exist")


def _output_transform(loss: Loss) -> str | None:
    """What a model's outputs are, from its loss: logits of a softmax or of a sigmoid, or log-rates,
    for the fused losses; already the predictions (values, or probabilities after a
    Sigmoid/Softmax) otherwise."""
    if isinstance(loss, SoftmaxCrossEntropy):
        return "softmax"
    if isinstance(loss, PoissonNLLLoss):
        return "exp"
    return "sigmoid" if isinstance(loss, SigmoidBinaryCrossEntropy) else None


def _recorded_arguments(
    state: TrainState,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int | None,
    shuffle: bool,
    seed: int | None,
    patience: int | None,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, Any]:
    """What makes the run what it is: a checkpoint records it and a resume must match it."""
    return {
        "epochs": state.epochs,
        "batch_size": None if batch_size is None else int(batch_size),
        "shuffle": bool(shuffle),
        "seed": None if seed is None else int(seed),
        "patience": None if patience is None else int(patience),
        "samples": x.shape[0],
        "steps_per_epoch": state.steps_per_epoch,
        "sample_shape": list(x.shape[1:]),
        "target_shape": list(y.shape[1:]),
        "loss": repr(state.loss),
        "validation_samples": None if validation_data is None else len(validation_data[0]),
    }


def _json_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    content = dict(metadata or {})
    try:
        json.dumps(content)
    except (TypeError, ValueError) as error:
        raise TypeError(f"fit: checkpoint_metadata must be JSON-serialisable: {error}") from None
    return content


def _callback_list(
    state: TrainState,
    samples: int,
    show: bool,
    log: Callable[[str], None],
    guard: DivergenceGuard,
    callbacks: Iterable[Callback | Callable[[TrainState], Any]],
    writer: Checkpoints | None,
) -> CallbackList:
    """``fit``'s callbacks in their order (``callbacks.py``'s docstring says why this one)."""
    return CallbackList(
        [
            *([ProgressBar(samples, state.epochs)] if show else []),
            guard,
            *([ScheduleStep(state.schedule)] if state.schedule is not None else []),
            *(c if isinstance(c, Callback) else EpochFunction(c) for c in callbacks),
            *([state.early_stopping] if state.early_stopping is not None else []),
            *([EpochLine(samples, state.epochs, log)] if show else []),
            *([writer] if writer is not None else []),
        ]
    )


def _loop(
    state: TrainState,
    x: np.ndarray,
    y: np.ndarray,
    shuffle: bool,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    callbacks: CallbackList,
    guard: DivergenceGuard,
    writer: Checkpoints | None,
) -> None:
    """Epochs of steps until every epoch ran or a callback stopped the run (``fit``'s docstring)."""
    strategy, optimizer = state.strategy, state.optimizer
    # Data-parallel steps all-reduce every gradient, so none may be consumed by a fused update.
    fused = optimizer.fused_updates() if strategy.fuses_updates else contextlib.nullcontext()
    state.model.train()
    with deferred_stop() as stop, fused:
        strategy.watch(stop)

        def after_step(value: float, count: int, last: bool) -> None:
            if strategy.stop_requested():
                raise _interrupted(state, writer, stop)
            callbacks.on_step_end(state)

        callbacks.on_fit_begin(state)
        while state.epoch < state.epochs and state.history.stop_reason is None:
            callbacks.on_epoch_begin(state)
            try:
                train_epoch(state, x, y, state.batch_size, shuffle, after_step)
            except DivergenceError as error:
                kept = guard.rescue(state)
                message = f"{error}; training stopped and {kept}. Try a lower learning rate."
                raise DivergenceError(message) from None
            _end_epoch(state, x.shape[0], validation_data)
            callbacks.on_epoch_end(state)
        state.completed = True


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
    the epoch's last batch. Each process takes its shard of every batch (``state.strategy``).
    """
    n = x.shape[0]
    strategy = state.strategy or Local()
    if state.batch == 0:
        state.begin_epoch(n, size, shuffle)
    for start in range(state.batch * size, n, size):
        stop = min(start + size, n)
        lo, hi = strategy.shard(start, stop)
        if state.order is None:
            xb, yb = x[lo:hi], y[lo:hi]
        else:
            index = state.order[lo:hi]
            xb, yb = x[index], y[index]
        value = train_step(state, xb, yb, stop - start)
        if after_step is not None:
            after_step(value, stop - start, stop >= n)


def train_step(state: TrainState, xb: np.ndarray, yb: np.ndarray, global_size: int | None = None) -> float:
    """One step of gradient descent on the batch ``(xb, yb)``; returns the global batch's loss.

    Forward, loss, backward (which SETS every gradient), the strategy's reduction, then the
    optimiser's update in place; the state's counters and the epoch's sums advance with it.
    ``(xb, yb)`` is this process's shard of a global batch of ``global_size`` samples (all of
    it in one process; possibly none of it on an MPI rank of a small batch). A loss that is not
    finite skips the backward and stops here, before the update, on every rank alike. Inside
    ``fit`` an optimiser with a fused rule (plain or momentum ``SGD``) has hooks on the large
    Linear weights that apply its step inside their gradient products, leaving those gradients
    None (see ``SGD``).
    """
    model, loss, strategy = state.model, state.loss, state.strategy or Local()
    count = xb.shape[0] if global_size is None else global_size
    value, correct = forward_backward(model, loss, xb, yb)
    value, correct = strategy.reduce(model, loss, value, correct, xb.shape[0], count)
    if not math.isfinite(value):
        where = f"epoch {state.epoch + 1}, step {state.step + 1}"
        raise DivergenceError(f"fit: the loss became {value} at {where}")
    state.optimizer.step()
    strategy.after_update(model, state.step + 1)
    state.step += 1
    state.batch += 1
    state.epoch_loss += value * count
    state.epoch_correct += correct
    state.last_loss, state.last_count = value, count
    return value


def forward_backward(model: Layer, loss: Loss, xb: np.ndarray, yb: np.ndarray) -> tuple[float, int]:
    """Forward, loss and backward (every gradient set, no ``dL/dx``) on a batch; its loss and count
    of correct predictions. An empty batch (an MPI rank's share of a small one) gives ``0.0, 0``;
    a loss that is not finite skips the backward, for the caller to stop on."""
    value, correct = 0.0, 0
    if xb.shape[0]:
        outputs = model(xb)
        value = loss(outputs, yb)
        if math.isfinite(value):
            backward_of(model, loss.backward(), input_grad=False)
            if classifies(loss):
                correct = correct_count(outputs, yb, loss)
    return value, correct


def _end_epoch(state: TrainState, n: int, validation_data: tuple[np.ndarray, np.ndarray] | None) -> None:
    """Close the epoch: its metrics, its validation, the history."""
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


def _interrupted(state: TrainState, writer: Checkpoints | None, stop: StopFlag) -> TrainingInterrupted:
    """The exception that ends a run stopped by Ctrl-C or SIGTERM, after the checkpoint is written."""
    name = "terminated (SIGTERM)" if stop.signal == signal.SIGTERM else "interrupted"
    where = f"fit: {name} in epoch {state.epoch + 1} after step {state.batch} of the epoch"
    if writer is None:
        return TrainingInterrupted(f"{where}; no checkpoint was written", state, None, stop.signal)
    try:
        saved = writer.write(state, finished=False)
    except CheckpointError as error:
        return TrainingInterrupted(f"{where}; {error}", state, None, stop.signal)
    if saved:
        message = f"{where}; the checkpoint {writer.path} holds the state"
        return TrainingInterrupted(message, state, writer.path, stop.signal)
    return TrainingInterrupted(f"{where}; no checkpoint was written", state, None, stop.signal)


class _Clock:
    """The run's wall time: what earlier sessions of a resumed run took, plus this one's so far."""

    def __init__(self, before: float) -> None:
        self.before, self.started = before, time.perf_counter()

    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.started


def _batches(n: int, batch_size: int | None) -> range:
    # max(n, 1): a rank's shard of a set smaller than the world is empty, and range needs a step.
    return range(0, n, max(n, 1) if batch_size is None else int(batch_size))


def evaluate(
    model: Layer,
    loss: Loss,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: BatchSize = "auto",
    distributed: DataParallel | None = None,
) -> dict[str, float]:
    """``{"loss": ..., "accuracy": ...}`` over ``(x, y)`` in ``eval()`` mode (no accuracy for regression).

    ``batch_size``: samples per forward pass; ``"auto"`` sizes it by the model's activations
    (``batching.py``), None takes the whole set at once.

    The loss is the loss's own reduction applied to the whole set: the mean over all samples
    for ``reduction="mean"``, the total for ``"sum"``. With ``distributed`` (called on every
    rank with the same set) each rank evaluates its contiguous shard and the totals are summed
    across the ranks, so every rank returns the same numbers.
    """
    batch_size = check_batch_size("evaluate", batch_size)
    x, y = check_data(model, loss, x, y, "evaluate")
    n = x.shape[0]
    if distributed is not None:
        lo, hi = distributed.shard(0, n)
        x, y = x[lo:hi], y[lo:hi]
    was_training = model.training
    model.eval()
    try:
        total = 0.0
        correct: float = 0  # an int, until the ranks' sum below makes it a float
        counts_correct = classifies(loss)
        step = resolve_batch_size(batch_size, model, x)
        for start in _batches(x.shape[0], step):
            stop = start + (x.shape[0] if step is None else step)
            xb, yb = x[start:stop], y[start:stop]
            outputs = model(xb)
            value = loss(outputs, yb)
            total += value * xb.shape[0] if loss.reduction == "mean" else value
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
    model: Layer, x: np.ndarray, batch_size: BatchSize = "auto", probabilities: bool = True
) -> np.ndarray:
    """The model's outputs for ``x`` in ``eval()`` mode, in batches.

    ``batch_size``: samples per forward pass; ``"auto"`` sizes it by the model's activations
    so that they stay in cache (64 for the benchmark's CNN, 1,024 for its MLP: ``batching.py``),
    None takes all of ``x`` at once.

    A classifier trained by ``fit`` with ``SoftmaxCrossEntropy`` outputs logits; its
    ``output_transform`` is then ``"softmax"`` and ``predict`` returns probabilities (pass
    ``probabilities=False`` for the logits). With ``SigmoidBinaryCrossEntropy`` it is
    ``"sigmoid"``: each output's probability ``1 / (1 + e^-z)``, by the stable two-branch sigmoid.
    With ``PoissonNLLLoss`` it is ``"exp"``: the rates ``e^z``. ``x`` may be a SciPy sparse
    matrix when the first layer is a ``Linear``.
    """
    batch_size = check_batch_size("predict", batch_size)
    if not is_sparse(x):  # a SciPy sparse matrix goes to a first Linear layer as it is, a batch at a time
        x = np.asarray(x)
    dtype = model.dtype
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    was_training = model.training
    model.eval()
    try:
        n = x.shape[0]
        step = resolve_batch_size(batch_size, model, x)
        outputs = np.concatenate([model(x[start : start + (step or n)]) for start in _batches(n, step)])
    finally:
        model.train(was_training)
    transform = getattr(model, "output_transform", None) if probabilities else None
    if transform == "softmax":
        outputs = softmax_forward(outputs)
    elif transform == "sigmoid":
        outputs = sigmoid_forward(outputs)
    elif transform == "exp":
        outputs = np.exp(outputs)
    return outputs
