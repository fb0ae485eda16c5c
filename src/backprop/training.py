"""Training as optimisation: ``fit`` repeats forward, loss, backward and ``w = w - eta dL/dw``.

``batch_size=None`` is the seeds' simple gradient descent (the whole data set every step);
an integer is stochastic mini-batch gradient descent: each epoch draws a fresh permutation
from a generator seeded by ``seed`` and walks it in batches, so every sample is used once per
epoch and the same seed gives bit-identical weights on the same machine.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .layers.activations import softmax_forward
from .layers.base import Layer
from .losses import BinaryCrossEntropy, CrossEntropy, Loss, SoftmaxCrossEntropy

Callback = Callable[[int, dict[str, float]], Any]


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite; the message says where and what to try."""


class History(dict):
    """Per-epoch lists ``history["loss"]``, ``["val_loss"]``, ``["accuracy"]``, ``["val_accuracy"]``.

    Accuracy lists stay empty for losses without classes (``MSELoss``). Attributes:
    ``epochs_run``, ``best_epoch`` (1-based, when early stopping watched a metric),
    ``stop_reason`` (``None`` when all epochs ran), ``seconds`` (wall time).
    """

    def __init__(self) -> None:
        super().__init__(loss=[], val_loss=[], accuracy=[], val_accuracy=[])
        self.epochs_run = 0
        self.best_epoch: int | None = None
        self.stop_reason: str | None = None
        self.seconds = 0.0


def _classifies(loss: Loss) -> bool:
    return isinstance(loss, (SoftmaxCrossEntropy, CrossEntropy, BinaryCrossEntropy))


def correct_count(outputs: np.ndarray, targets: np.ndarray, loss: Loss) -> int:
    """How many samples the outputs classify correctly (argmax, or 0.5 for binary outputs)."""
    if isinstance(loss, BinaryCrossEntropy):
        hits = (outputs > 0.5) == (targets > 0.5)
        return int(np.all(hits.reshape(len(hits), -1), axis=1).sum())
    labels = targets if targets.ndim == 1 else targets.argmax(axis=1)
    return int(np.count_nonzero(outputs.argmax(axis=1) == labels))


def _check_data(model: Layer, x: np.ndarray, y: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"{name}: inputs and targets must have the same number of samples, got {x.shape} and {y.shape}"
        )
    if len(x) == 0:
        raise ValueError(f"{name}: the data set is empty")
    dtype = model._dtype()
    if dtype is not None and x.dtype != dtype:
        # One conversion here instead of an error per batch: the data follow the model.
        x = x.astype(dtype)
    if np.issubdtype(y.dtype, np.floating) and dtype is not None:
        y = y.astype(dtype, copy=False)
    return x, y


def _check_batch_size(batch_size: int | None, name: str) -> None:
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise ValueError(f"{name}: batch_size must be a positive integer or None, got {batch_size!r}")


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
) -> History:
    """Train ``model`` on ``(x, y)`` and return the per-epoch ``History``.

    Parameters
    ----------
    model, loss, optimizer : the network, a ``bp`` loss, an optimiser built on the model.
    x, y : inputs ``(N, ...)`` and targets (labels ``(N,)`` or values ``(N, ...)``); ``x`` is
        converted once to the model's dtype.
    epochs : passes over the data.
    batch_size : samples per step; ``None`` for full-batch gradient descent.
    validation_data : ``(x_val, y_val)`` evaluated after each epoch (in ``eval()`` mode).
    seed : seeds the shuffling; the same seed gives the same weights.
    progress : a progress bar (only on a terminal) and one summary line per epoch via ``log``.
    shuffle : draw a new permutation every epoch (else keep the data order).
    patience : early stopping: stop after this many epochs without a lower validation loss
        (training loss without validation data) and restore the best weights.
    callbacks : ``callback(epoch, logs)`` after each epoch (``epoch`` 1-based, ``logs`` the
        epoch's metrics); returning ``True`` stops training.

    If a loss becomes NaN or infinite, training stops at once, before that step's update:
    the weights stay those of the last step with a finite loss (or, if that step's update
    overflowed, those the epoch started with) and ``DivergenceError`` says at which step.
    """
    _check_batch_size(batch_size, "fit")
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    if patience is not None and (not isinstance(patience, (int, np.integer)) or patience < 1):
        raise ValueError(f"fit: patience must be a positive integer or None, got {patience!r}")
    x, y = _check_data(model, x, y, "fit")
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a pair (x_val, y_val)")
        validation_data = _check_data(model, *validation_data, "fit validation_data")
    # The loss says what the outputs are: logits of a softmax for the fused loss, and
    # already the predictions (values, or probabilities after a Sigmoid/Softmax) otherwise.
    model.output_transform = "softmax" if isinstance(loss, SoftmaxCrossEntropy) else None

    history = History()
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    n = len(x)
    step_size = n if batch_size is None else min(int(batch_size), n)
    params = list(model.params.values())
    epoch_start = [p.copy() for p in params]
    best_state: dict[str, np.ndarray] | None = None
    best_value = math.inf
    waited = 0
    classifies = _classifies(loss)
    bar = _progress_bar(n, progress)
    step = 0
    model.train()
    try:
        for epoch in range(1, int(epochs) + 1):
            epoch_started = time.perf_counter()
            for param, saved in zip(params, epoch_start):
                np.copyto(saved, param)
            order = rng.permutation(n) if shuffle and step_size < n else None
            total_loss, correct = 0.0, 0
            if bar is not None:
                bar.reset()
                bar.set_description(f"epoch {epoch}/{epochs}")
            for start in range(0, n, step_size):
                if order is None:
                    xb, yb = x[start : start + step_size], y[start : start + step_size]
                else:
                    index = order[start : start + step_size]
                    xb, yb = x[index], y[index]
                step += 1
                outputs = model(xb)
                value = loss(outputs, yb)
                if not math.isfinite(value):
                    raise _diverged(value, epoch, step, params, epoch_start)
                model.backward_params(loss.backward())
                optimizer.step()
                count = len(xb)
                total_loss += value * count
                if classifies:
                    correct += correct_count(outputs, yb, loss)
                if bar is not None:
                    bar.update(count)
                    bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            logs = {"loss": total_loss / n}
            if classifies:
                logs["accuracy"] = correct / n
            if validation_data is not None:
                logs.update({f"val_{k}": v for k, v in evaluate(model, loss, *validation_data).items()})
                model.train()
            for key, value in logs.items():
                history[key].append(value)
            history.epochs_run = epoch
            seconds = time.perf_counter() - epoch_started
            if progress:
                log(_summary(epoch, epochs, logs, seconds, n))
            stop = any(callback(epoch, dict(logs)) is True for callback in callbacks)
            if patience is not None:
                watched = logs.get("val_loss", logs["loss"])
                if watched < best_value:
                    best_value, waited, history.best_epoch = watched, 0, epoch
                    best_state = model.state_dict()
                else:
                    waited += 1
                    if waited >= patience:
                        history.stop_reason = f"early stopping: no improvement for {patience} epochs"
                        break
            if stop:
                history.stop_reason = f"stopped by a callback after epoch {epoch}"
                break
    finally:
        if bar is not None:
            bar.close()
        history.seconds = time.perf_counter() - started
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _diverged(
    value: float, epoch: int, step: int, params: list[np.ndarray], epoch_start: list[np.ndarray]
) -> DivergenceError:
    """Stop without the step whose loss is not finite; make sure the weights left are finite.

    The weights in place come from the last update, whose loss was finite. Only if that update
    itself overflowed are they replaced by the weights the epoch started with (a copy per epoch
    costs nothing; a copy per step would cost a pass over every weight each step).
    """
    where = f"the loss became {value} at epoch {epoch}, step {step}"
    if all(np.isfinite(param).all() for param in params):
        kept = "the weights of the last step with a finite loss were kept"
    else:
        for param, saved in zip(params, epoch_start):
            np.copyto(param, saved)
        kept = f"the last update overflowed, so the weights from the start of epoch {epoch} were restored"
    return DivergenceError(f"fit: {where}; training stopped and {kept}. Try a lower learning rate.")


def _summary(epoch: int, epochs: int, logs: dict[str, float], seconds: float, n: int) -> str:
    metrics = "  ".join(f"{key} {value:.4f}" for key, value in logs.items())
    return f"epoch {epoch}/{epochs}  {metrics}  {seconds:.2f}s  {n / max(seconds, 1e-9):,.0f} samples/s"


def _progress_bar(total: int, progress: bool) -> Any:
    """A tqdm bar on a terminal; on a pipe or with ``progress=False``, nothing at all."""
    if not progress or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sample", unit_scale=True, leave=False, dynamic_ncols=True)


def _batches(n: int, batch_size: int | None) -> range:
    return range(0, n, n if batch_size is None else int(batch_size))


def evaluate(
    model: Layer, loss: Loss, x: np.ndarray, y: np.ndarray, batch_size: int | None = 1000
) -> dict[str, float]:
    """``{"loss": ..., "accuracy": ...}`` over ``(x, y)`` in ``eval()`` mode (no accuracy for regression).

    The loss is the loss's own reduction applied to the whole set: the mean over all samples
    for ``reduction="mean"``, the total for ``"sum"``.
    """
    _check_batch_size(batch_size, "evaluate")
    x, y = _check_data(model, x, y, "evaluate")
    was_training = model.training
    model.eval()
    try:
        total, correct = 0.0, 0
        classifies = _classifies(loss)
        for start in _batches(len(x), batch_size):
            stop = start + (len(x) if batch_size is None else int(batch_size))
            xb, yb = x[start:stop], y[start:stop]
            outputs = model(xb)
            value = loss(outputs, yb)
            total += value * len(xb) if loss.reduction == "mean" else value
            if classifies:
                correct += correct_count(outputs, yb, loss)
    finally:
        model.train(was_training)
    result = {"loss": total / len(x) if loss.reduction == "mean" else total}
    if classifies:
        result["accuracy"] = correct / len(x)
    return result


def predict(
    model: Layer, x: np.ndarray, batch_size: int | None = 1000, probabilities: bool = True
) -> np.ndarray:
    """The model's outputs for ``x`` in ``eval()`` mode, in batches.

    A classifier trained by ``fit`` with ``SoftmaxCrossEntropy`` outputs logits; its
    ``output_transform`` is then ``"softmax"`` and ``predict`` returns probabilities (pass
    ``probabilities=False`` for the logits).
    """
    _check_batch_size(batch_size, "predict")
    x = np.asarray(x)
    dtype = model._dtype()
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    was_training = model.training
    model.eval()
    try:
        step = len(x) if batch_size is None else int(batch_size)
        outputs = np.concatenate([model(x[start : start + step]) for start in _batches(len(x), batch_size)])
    finally:
        model.train(was_training)
    if probabilities and getattr(model, "output_transform", None) == "softmax":
        outputs = softmax_forward(outputs)
    return outputs
