"""Checkpoints: a ``TrainState`` in one safetensors file, enough to continue a run exactly.

The file holds nothing executable. Tensors (raw little-endian numbers)::

    model/<name>       the weights, as model.params
    optimizer/<key>    the optimiser's buffers (momentum, Adam moments), as its state_dict
    best/<name>        early stopping's best weights, when it has some
    order              the current epoch's permutation, when it is part-way through one

and the safetensors metadata (strings) records ``"format": "backprop-checkpoint"``, its
version, the architecture (JSON, as in model files), and a JSON ``"state"``: the position
(epoch, step in the epoch, steps in all, the epoch's running sums), the history, the
optimiser's ``lr`` and step count, the schedule's ``state_dict``, early stopping's record, the
generators' states (the shuffling one and each Dropout's), the arguments ``fit`` was called with
and the caller's own metadata (the command line keeps its configuration and the data's
preprocessing there). Written through ``atomic_write``: temporary file, fsync, rename; by
``write_safetensors``: the same state (and the same ``seconds``) always gives the same bytes.
The file is read and checked by ``container``, the one safetensors container model files use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .container import CHECKPOINT, read, write_safetensors
from .files import atomic_write
from .state import History, TrainState

FORMAT = CHECKPOINT.name
FORMAT_VERSION = CHECKPOINT.version

PathLike = str | os.PathLike[str]


@dataclass
class Checkpoint:
    """A checkpoint as read from a file: its tensors and its parsed JSON."""

    path: str
    tensors: dict[str, np.ndarray]
    state: dict[str, Any]
    architecture: dict[str, Any]

    @property
    def fit_arguments(self) -> dict[str, Any]:
        return self.state["fit"]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.state["user"]

    @property
    def finished(self) -> bool:
        return bool(self.state["finished"])


def save_checkpoint(
    state: TrainState,
    path: PathLike,
    fit_arguments: Mapping[str, Any],
    finished: bool,
    seconds: float,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write ``state`` to ``path`` atomically; an OSError leaves the previous file as it was."""
    tensors = {f"model/{name}": w for name, w in state.model.params.items()}
    optimizer_state = state.optimizer.state_dict()
    for key, value in optimizer_state.items():
        if isinstance(value, np.ndarray):
            tensors[f"optimizer/{key}"] = value
    stopping = state.early_stopping
    if stopping is not None and stopping.best_weights is not None:
        tensors.update({f"best/{name}": w for name, w in stopping.best_weights.items()})
    if state.order is not None and state.batch > 0:
        tensors["order"] = state.order.astype(np.int64)
    history = state.history.to_json()
    history["seconds"] = seconds
    content = {
        "fit": dict(fit_arguments),
        "finished": bool(finished),
        "epoch": state.epoch,
        "batch": state.batch,
        "step": state.step,
        "epoch_loss": state.epoch_loss,
        "epoch_correct": state.epoch_correct,
        "logs": state.logs,
        "history": history,
        "optimizer": {
            "type": type(state.optimizer).__name__,
            "lr": float(state.optimizer.lr),
            "step": int(state.optimizer.t),
        },
        "schedule": None
        if state.schedule is None
        else {"type": type(state.schedule).__name__, **state.schedule.state_dict()},
        "early_stopping": None
        if stopping is None
        else {
            "patience": stopping.patience,
            "best_value": None if stopping.best_value == float("inf") else stopping.best_value,
            "waited": stopping.waited,
        },
        "rng": state.rng.bit_generator.state,
        "layer_rngs": {str(index): rng.bit_generator.state for index, rng in _layer_generators(state)},
        "user": dict(metadata or {}),
    }
    header = {
        "architecture": json.dumps({"type": type(state.model).__name__, "config": state.model.config()}),
        "state": json.dumps(content),
    }
    with atomic_write(path) as file:
        write_safetensors(file, tensors, CHECKPOINT.metadata(header))


def read_checkpoint(path: PathLike) -> Checkpoint:
    """Read and parse the checkpoint at ``path``; ValueError (naming the file) if it is not one.

    FileNotFoundError when nothing is there; a folder, a FIFO or an unreadable file is a
    ValueError saying which, before safetensors opens it.
    """
    name = os.fspath(path)
    with read(name, CHECKPOINT) as contents:
        state = contents.entry("state")
        architecture = contents.entry("architecture")
        tensors = contents.tensors()
    for key in ("fit", "finished", "epoch", "batch", "step", "history", "optimizer", "rng", "user"):
        if not isinstance(state, dict) or key not in state:
            raise ValueError(f'{name}: the checkpoint\'s state has no "{key}" entry')
    return Checkpoint(name, tensors, state, architecture)


def restore(state: TrainState, checkpoint: Checkpoint, fit_arguments: Mapping[str, Any]) -> None:
    """Put the checkpoint into ``state`` (model, optimiser, schedule, generators, position).

    Everything is checked before anything changes: a checkpoint of another architecture,
    optimiser or schedule, or one made by ``fit`` with other arguments, is a ValueError naming
    the difference, and ``state`` is left as it was.
    """
    name = checkpoint.path
    try:
        _check_matches(state, checkpoint, fit_arguments)
        saved = checkpoint.state
        model_state = _prefixed(checkpoint.tensors, "model/")
        optimizer_state: dict[str, Any] = _prefixed(checkpoint.tensors, "optimizer/")
        optimizer_state.update(lr=saved["optimizer"]["lr"], step=saved["optimizer"]["step"])
        best = _prefixed(checkpoint.tensors, "best/")
        order = checkpoint.tensors.get("order")
        batch = int(saved["batch"])
        if order is None and batch > 0 and fit_arguments["shuffle"] and fit_arguments["steps_per_epoch"] > 1:
            raise ValueError("it stopped part-way through an epoch but holds no permutation")
        if order is not None:
            if order.shape != (fit_arguments["samples"],) or order.dtype != np.int64:
                raise ValueError(f"the saved permutation has shape {order.shape}, expected a permutation")
            if not np.array_equal(np.sort(order), np.arange(len(order))):
                raise ValueError("the saved order is not a permutation of the samples")
        history = History.from_json(saved["history"])
        layer_rngs = dict(_layer_generators(state))
        layer_states = {int(index): value for index, value in saved.get("layer_rngs", {}).items()}
        if set(layer_states) != set(layer_rngs):
            raise ValueError("its Dropout layers do not match the model's")
        for value in [saved["rng"], *layer_states.values()]:
            # A generator of the same kind takes the state first: a malformed one fails here.
            np.random.default_rng().bit_generator.state = value
        _check_state_arrays(state.model.params, model_state, "weights")
        _check_optimizer(state, optimizer_state)
        schedule = None if state.schedule is None else dict(saved["schedule"])
        if schedule is not None:
            schedule = {"epoch": int(schedule["epoch"]), "base_lr": float(schedule["base_lr"])}
        stopping = None
        if state.early_stopping is not None:
            record = saved["early_stopping"]
            best_value = float("inf") if record["best_value"] is None else float(record["best_value"])
            stopping = (best_value, int(record["waited"]))
            if best:
                _check_state_arrays(state.model.params, best, "best weights")
        position = (int(saved["epoch"]), batch, int(saved["step"]))
        sums = (float(saved["epoch_loss"]), int(saved["epoch_correct"]))
        logs = {str(key): float(value) for key, value in dict(saved["logs"]).items()}
        # The optimiser checks every buffer and scalar before it changes anything, so it goes
        # first; nothing after it can fail.
        state.optimizer.load_state_dict(optimizer_state)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{name}: cannot resume from this checkpoint: {error}") from error

    state.model.load_state_dict(model_state)
    if schedule is not None:
        state.schedule.load_state_dict(schedule)
        state.optimizer.lr = float(saved["optimizer"]["lr"])
    if stopping is not None:
        state.early_stopping.best_value, state.early_stopping.waited = stopping
        state.early_stopping.best_weights = best or None
    state.rng.bit_generator.state = saved["rng"]
    for index, value in layer_states.items():
        layer_rngs[index].bit_generator.state = value
    state.history = history
    state.epoch, state.batch, state.step = position
    state.order = order
    state.epoch_loss, state.epoch_correct = sums
    state.logs = logs


def _check_matches(state: TrainState, checkpoint: Checkpoint, fit_arguments: Mapping[str, Any]) -> None:
    model = state.model
    expected = {"type": type(model).__name__, "config": model.config()}
    if checkpoint.architecture != json.loads(json.dumps(expected)):
        raise ValueError("it was made for another architecture")
    saved = checkpoint.state
    if saved["optimizer"]["type"] != type(state.optimizer).__name__:
        raise ValueError(
            f"it was made with {saved['optimizer']['type']}, this run uses {type(state.optimizer).__name__}"
        )
    schedule = saved.get("schedule") or {}
    have = None if state.schedule is None else type(state.schedule).__name__
    if schedule.get("type") != have:
        raise ValueError(f"it was made with schedule {schedule.get('type')}, this run uses {have}")
    differences = [
        f"{key} {saved['fit'].get(key)!r} (now {value!r})"
        for key, value in fit_arguments.items()
        if saved["fit"].get(key) != value
    ]
    if differences:
        raise ValueError("it was made by fit with other arguments: " + ", ".join(differences))


def _check_state_arrays(params: Mapping[str, np.ndarray], saved: Mapping[str, np.ndarray], what: str) -> None:
    if set(params) != set(saved):
        raise ValueError(f"its {what} are {sorted(saved)}, the model has {sorted(params)}")
    for key, value in params.items():
        if saved[key].shape != value.shape or saved[key].dtype != value.dtype:
            raise ValueError(
                f"{what} {key!r} is {saved[key].dtype} {saved[key].shape},"
                f" the model has {value.dtype} {value.shape}"
            )


def _check_optimizer(state: TrainState, optimizer_state: Mapping[str, Any]) -> None:
    expected = {key for key, value in state.optimizer.state_dict().items() if isinstance(value, np.ndarray)}
    found = {key for key, value in optimizer_state.items() if isinstance(value, np.ndarray)}
    if expected != found:
        raise ValueError(f"its optimiser buffers are {sorted(found)}, this optimiser has {sorted(expected)}")


def _prefixed(tensors: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}


def _layer_generators(state: TrainState) -> list[tuple[int, np.random.Generator]]:
    """The generators of layers that draw while training (Dropout), by position in the model."""
    return [
        (index, module.rng)
        for index, module in enumerate(state.model.modules())
        if isinstance(getattr(module, "rng", None), np.random.Generator)
    ]

