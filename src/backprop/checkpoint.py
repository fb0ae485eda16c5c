"""Checkpoints: the state of every component of a run in one safetensors file, enough to continue
the run exactly.

A checkpoint is the collection of its components' ``state_dict()``s; it knows none of their
insides. Each component's arrays become tensors (raw little-endian numbers) under its prefix
and its other values JSON under its entry of the metadata's ``"state"`` (``COMPONENTS``)::

    component        whose state_dict                   tensors        JSON entry
    loop             the TrainState (position, sums,    order          (the top level)
                     history, shuffling generator)
    model            the model's parameters             model/<name>
    layers           every layer's extra_state          layers/...     layer_states
                     (Dropout's generator), by its
                     index in model.modules()
    schedule         the learning-rate schedule         -              schedule (+ "type")
    optimizer        its buffers, lr and step           optimizer/...  optimizer (+ "type")
    early_stopping   its record and best weights        best/<name>    early_stopping

The metadata also records ``"format": "backprop-checkpoint"``, its version, the architecture
(JSON, as in model files) and, in the state, the arguments ``fit`` was called with and the
caller's own metadata (the command line keeps its configuration and the data's preprocessing
there). Written through ``atomic_write``: temporary file, fsync, rename; by
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
from .state import TrainState

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


#: (component, its JSON entry in the state (None: the top level), its tensors' prefix, whether the
#: entry records the component's type). The order is the order of loading: the optimiser after
#: the schedule, whose ``load_state_dict`` sets the optimiser's ``lr`` from the epoch.
COMPONENTS = (
    ("loop", None, "", False),
    ("model", None, "model/", False),
    ("layers", "layer_states", "layers/", False),
    ("schedule", "schedule", "schedule/", True),
    ("optimizer", "optimizer", "optimizer/", True),
    ("early_stopping", "early_stopping", "best/", False),
)


def save_checkpoint(
    state: TrainState,
    path: PathLike,
    fit_arguments: Mapping[str, Any],
    finished: bool,
    seconds: float,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write ``state`` to ``path`` atomically; an OSError leaves the previous file as it was."""
    tensors: dict[str, np.ndarray] = {}
    content: dict[str, Any] = {"fit": dict(fit_arguments), "finished": bool(finished)}
    for name, entry, prefix, typed in COMPONENTS:
        component = _components(state).get(name)
        if component is None:
            assert entry is not None  # the loop and the model are always there
            content[entry] = None
            continue
        values = component.state_dict()
        arrays = {key: value for key, value in values.items() if isinstance(value, np.ndarray)}
        tensors.update({prefix + key: value for key, value in arrays.items()})
        plain = {key: value for key, value in values.items() if key not in arrays}
        if typed:
            plain = {"type": type(component).__name__, **plain}
        if entry is None:
            content.update(plain)
        else:
            content[entry] = plain
    content["history"]["seconds"] = seconds
    content["user"] = dict(metadata or {})
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
    """Put the checkpoint into ``state``: every component takes back its ``state_dict``.

    A checkpoint of another architecture, optimiser or schedule, or one made by ``fit`` with
    other arguments, is a ValueError naming the difference. Everything is checked before the
    run goes on: if any component refuses its state, every component takes back the state it
    had, and ``state`` is left as it was.
    """
    name = checkpoint.path
    components = _components(state)
    try:
        _check_matches(state, checkpoint, fit_arguments)
        saved = {key: _saved_state(checkpoint, key) for key in components}
        _check_position(saved["loop"], fit_arguments)
        _check_state_arrays(state.model.params, saved["model"], "weights")
        if "early_stopping" in components:
            best = {k: v for k, v in saved["early_stopping"].items() if isinstance(v, np.ndarray)}
            if best:
                _check_state_arrays(state.model.params, best, "best weights")
        _check_optimizer(state, saved["optimizer"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{name}: cannot resume from this checkpoint: {error}") from error
    before = {key: component.state_dict() for key, component in components.items()}
    try:
        for key, component in components.items():
            component.load_state_dict(saved[key])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        for key, component in components.items():
            component.load_state_dict(before[key])
        raise ValueError(f"{name}: cannot resume from this checkpoint: {error}") from error


def _components(state: TrainState) -> dict[str, Any]:
    """The run's components with state, by name, in ``COMPONENTS``' order (absent ones left out)."""
    present = {
        "loop": state,
        "model": state.model,
        "layers": _LayerStates(state.model),
        "schedule": state.schedule,
        "optimizer": state.optimizer,
        "early_stopping": state.early_stopping,
    }
    return {name: present[name] for name, *_ in COMPONENTS if present[name] is not None}


def _saved_state(checkpoint: Checkpoint, component: str) -> dict[str, Any]:
    """What the checkpoint holds for ``component``: its JSON entry and its tensors, as one dict."""
    entry, prefix = next((e, p) for name, e, p, _ in COMPONENTS if name == component)
    saved, tensors = checkpoint.state, checkpoint.tensors
    if component == "loop":
        values = {key: saved[key] for key in _LOOP_KEYS if key in saved}
        return values | ({"order": tensors["order"]} if "order" in tensors else {})
    if component == "layers" and entry not in saved:
        # Version 1 before layer_states: only Dropout had state, its generator, kept by index.
        return {f"{index}.rng": value for index, value in saved.get("layer_rngs", {}).items()}
    plain = {} if entry is None else saved.get(entry)
    if plain is None:
        raise ValueError(f"it holds no {component.replace('_', ' ')}, which this run has")
    own = {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}
    return {key: value for key, value in plain.items() if key != "type"} | own


#: The loop's keys at the state's top level (``TrainState.state_dict``).
_LOOP_KEYS = ("epoch", "batch", "step", "epoch_loss", "epoch_correct", "logs", "history", "rng")


class _LayerStates:
    """Every layer's ``extra_state`` (Dropout's generator), keyed ``"<index>.<key>"`` by the layer's
    index in ``model.modules()``: one component for the checkpoint."""

    def __init__(self, model: Any) -> None:
        self.modules = list(model.modules())

    def state_dict(self) -> dict[str, Any]:
        return {
            f"{index}.{key}": value
            for index, module in enumerate(self.modules)
            for key, value in module.extra_state().items()
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        grouped: dict[int, dict[str, Any]] = {}
        for key, value in state.items():
            index, _, name = key.partition(".")
            grouped.setdefault(int(index), {})[name] = value
        have = {index for index, module in enumerate(self.modules) if module.extra_state()}
        if set(grouped) != have:
            raise ValueError(
                f"its layers with state (by position, {sorted(grouped)}) do not match the model's"
                f" ({sorted(have)})"
            )
        for position, values in grouped.items():
            self.modules[position].load_extra_state(values)


def _check_position(loop: Mapping[str, Any], fit_arguments: Mapping[str, Any]) -> None:
    order, batch = loop.get("order"), int(loop["batch"])
    if order is None and batch > 0 and fit_arguments["shuffle"] and fit_arguments["steps_per_epoch"] > 1:
        raise ValueError("it stopped part-way through an epoch but holds no permutation")
    if order is not None:
        if order.shape != (fit_arguments["samples"],) or order.dtype != np.int64:
            raise ValueError(f"the saved permutation has shape {order.shape}, expected a permutation")
        if not np.array_equal(np.sort(order), np.arange(len(order))):
            raise ValueError("the saved order is not a permutation of the samples")


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


