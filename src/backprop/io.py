"""Save and load models as one safetensors file: weights as tensors, architecture as JSON.

A saved file holds nothing executable. The tensors are raw little-endian numbers and the
safetensors metadata (a string -> string map in the header) records::

    "format":           "backprop"
    "format_version":   "1"
    "backprop_version": the version that wrote the file, for the reader's information
    "architecture":     {"type": "Sequential", "config": {"layers": [{"type": "Linear", ...}]}}
    "output_transform": "softmax" or "sigmoid" for a classifier that outputs logits, "exp" for a
                        Poisson regressor that outputs log-rates, "" otherwise
    "user":             the caller's own metadata, a JSON object

``load`` rebuilds the model only from the layer types listed in ``LAYER_TYPES``, calling each
class with its saved config as keyword arguments. Pickle would run whatever code the file
names (Chainer's ``load_npz(allow_pickle=True)`` did); here a tampered header can at worst
name an unknown type or bad arguments, and that is a ValueError.

The file itself (its bytes, the format check, the JSON entries, the refusals that name the
file) is ``container``'s, shared with checkpoints; this module is what a model file holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .container import MODEL, Contents, read, write_safetensors
from .files import atomic_write
from .layers.activations import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .layers.average_pooling import AvgPool2d, GlobalAvgPool2d
from .layers.base import Layer
from .layers.batch_norm import BatchNorm1d, BatchNorm2d
from .layers.conv import Conv2d
from .layers.dropout import Dropout
from .layers.layer_norm import LayerNorm
from .layers.linear import Linear
from .layers.pooling import MaxPool2d
from .layers.shape import Flatten
from .model import Sequential
from .residual import Residual

FORMAT = MODEL.name
FORMAT_VERSION = MODEL.version
OUTPUT_TRANSFORMS = frozenset({"", "softmax", "sigmoid", "exp"})
SUPPORTED_FORMAT_VERSIONS = MODEL.reads

#: The only classes ``load`` will construct: a name in a file is looked up here, never imported.
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Sequential,
        Linear,
        ReLU,
        Sigmoid,
        Tanh,
        Softmax,
        Dropout,
        Conv2d,
        MaxPool2d,
        AvgPool2d,
        GlobalAvgPool2d,
        LeakyReLU,
        GELU,
        LayerNorm,
        BatchNorm1d,
        BatchNorm2d,
        Residual,
        Flatten,
    )
}

# Real models nest a few Sequentials; the bound keeps a hostile header from exhausting the stack.
_MAX_DEPTH = 64

PathLike = str | os.PathLike[str]


class _ContentError(Exception):
    """A problem with a file's contents; ``load`` prefixes the path and raises ValueError."""


def save(model: Layer, path: PathLike, metadata: Mapping[str, Any] | None = None) -> None:
    """Write ``model``'s parameters and architecture to the safetensors file ``path``.

    Tensors are named as ``model.params`` (``"0.weight"``, ...) and ``model.buffers`` (BatchNorm's
    ``"1.running_mean"``, ...) and keep their dtype.
    ``metadata`` is any JSON-serialisable mapping with string keys (epochs, accuracy, ...);
    ``load_metadata`` returns it. The write is atomic: the bytes go to a temporary file next
    to ``path``, are fsynced, then renamed over ``path``, so a crash or error leaves either
    the old file or the new one, never half of one. The directory must already exist. The
    same model and metadata always give the same bytes (``container.write_safetensors``).

    Raises TypeError when the model holds a layer ``load`` could not rebuild or the metadata
    is not JSON-serialisable, FileNotFoundError when the directory does not exist.
    """
    path = Path(path)
    _check_savable(model, "model")
    header = MODEL.metadata(
        {
            "backprop_version": __version__,
            "architecture": json.dumps({"type": type(model).__name__, "config": model.config()}),
            "output_transform": model.output_transform or "",
            "user": _dump_user_metadata(metadata),
        }
    )
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"{path}: cannot save, directory {directory} does not exist")

    with atomic_write(path) as file:
        write_safetensors(file, {**model.params, **getattr(model, "buffers", {})}, header)


def load(path: PathLike) -> Layer:
    """Rebuild the model saved at ``path``: same architecture, dtypes and parameter values.

    The model comes back in training mode, as a freshly constructed one; call ``eval()``
    for inference. Raises FileNotFoundError when ``path`` does not exist and ValueError,
    with a message starting with the path, for anything else wrong with the file: not
    safetensors, truncated, not written by backprop, a newer format version, an unknown
    layer type or bad layer arguments, missing, extra or misshaped tensors.
    """
    with read(path, MODEL) as contents:
        try:
            architecture = _architecture(contents)
            model = _build(architecture, "architecture", 0)
            model.output_transform = _output_transform(contents.metadata)
            buffers = getattr(model, "buffers", {})
            state = _read_tensors(contents, {**model.params, **buffers})
        except _ContentError as error:
            raise ValueError(f"{os.fspath(path)}: {error}") from error.__cause__
    # Names, shapes and dtypes were checked above, so this copies without converting.
    model.load_state_dict({name: value for name, value in state.items() if name in model.params})
    for name, array in buffers.items():
        np.copyto(array, state[name])
    return model


def load_metadata(path: PathLike) -> dict[str, Any]:
    """The file's metadata without building the model or reading the weights.

    Returns ``{"user": ..., "architecture": ..., "format_version": ..., "backprop_version": ...}``
    with ``user`` the mapping given to ``save`` (``{}`` if none) and ``architecture`` the
    parsed ``{"type": ..., "config": ...}``. Raises as ``load`` does for an unreadable file.
    """
    with read(path, MODEL) as contents:
        try:
            user = contents.entry("user", default="{}")
            if not isinstance(user, dict):
                raise _ContentError(f'the metadata entry "user" must be a JSON object, got {user!r:.80}')
            return {
                "user": user,
                "architecture": _architecture(contents),
                "format_version": contents.metadata["format_version"],
                "backprop_version": contents.metadata.get("backprop_version"),
            }
        except _ContentError as error:
            raise ValueError(f"{os.fspath(path)}: {error}") from error.__cause__


def _output_transform(header: Mapping[str, str]) -> str | None:
    value = header.get("output_transform", "")
    if value not in OUTPUT_TRANSFORMS:
        known = sorted(OUTPUT_TRANSFORMS)
        raise _ContentError(f"unknown output_transform {value!r}; this backprop knows {known}")
    return value or None


# --- saving -------------------------------------------------------------------------------


def _check_savable(layer: Layer, where: str) -> None:
    """Refuse now what ``load`` would refuse later: a layer class not in ``LAYER_TYPES``.

    The check is on the class itself, not its name, so a subclass of Linear (which may
    take other arguments) is not silently saved as a plain Linear.
    """
    name = type(layer).__name__
    if LAYER_TYPES.get(name) is not type(layer):
        raise TypeError(
            f"save: {where} is a {name}, which load cannot rebuild; saveable layer types are"
            f" {', '.join(sorted(LAYER_TYPES))}"
        )
    if isinstance(layer, Sequential):
        for index, inner in enumerate(layer.layers):
            _check_savable(inner, f"{where}[{index}]")
    if isinstance(layer, Residual):
        _check_savable(layer.block, f"{where}.block")
        if layer.shortcut is not None:
            _check_savable(layer.shortcut, f"{where}.shortcut")


def _dump_user_metadata(metadata: Mapping[str, Any] | None) -> str:
    if metadata is None:
        return "{}"
    if not isinstance(metadata, Mapping):
        raise TypeError(f"save: metadata must be a dict, got {type(metadata).__name__}")
    for key in metadata:
        # json.dumps would turn 1 into "1", so the mapping would not come back as it went in.
        if not isinstance(key, str):
            raise TypeError(f"save: metadata keys must be strings, got {key!r}")
    try:
        return json.dumps(dict(metadata))
    except (TypeError, ValueError) as error:
        raise TypeError(f"save: metadata must be JSON-serialisable: {error}") from error


# --- loading ------------------------------------------------------------------------------


def _architecture(contents: Contents) -> dict[str, Any]:
    architecture = contents.entry("architecture")
    if not isinstance(architecture, dict):
        raise _ContentError(f"the architecture must be a JSON object, got {architecture!r:.80}")
    return architecture


def _build(spec: Any, where: str, depth: int) -> Layer:
    """Construct the layer ``spec`` = ``{"type": name, "config": kwargs}`` describes.

    ``where`` locates the spec in the architecture for error messages
    (``architecture.layers[2]``).
    """
    if depth > _MAX_DEPTH:
        raise _ContentError(f"{where}: layers nested more than {_MAX_DEPTH} deep")
    if not isinstance(spec, dict) or set(spec) != {"type", "config"}:
        raise _ContentError(f'{where} must be {{"type": ..., "config": {{...}}}}, got {spec!r:.80}')
    kind, config = spec["type"], spec["config"]
    cls = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise _ContentError(
            f"{where}: unknown layer type {kind!r:.80}; this backprop builds {', '.join(sorted(LAYER_TYPES))}"
        )
    if not isinstance(config, dict):
        raise _ContentError(f"{where}: the config of {kind} must be a JSON object, got {config!r:.80}")
    if cls is Sequential:
        layers = config.get("layers")
        if set(config) != {"layers"} or not isinstance(layers, list):
            raise _ContentError(f'{where}: the config of Sequential must be {{"layers": [...]}}')
        return Sequential(*(_build(item, f"{where}.layers[{i}]", depth + 1) for i, item in enumerate(layers)))
    if cls is Residual:
        if set(config) != {"block", "shortcut"} or config["block"] is None:
            raise _ContentError(
                f'{where}: the config of Residual must be {{"block": {{...}}, "shortcut": ...}}'
            )
        block = _build(config["block"], f"{where}.block", depth + 1)
        shortcut = config["shortcut"]
        return Residual(block, None if shortcut is None else _build(shortcut, f"{where}.shortcut", depth + 1))
    try:
        return cls(**config)
    except (TypeError, ValueError, OverflowError, MemoryError) as error:
        # The constructor validates its arguments; a hostile or hand-edited config fails
        # there and is reported as a bad file, not as a bug.
        raise _ContentError(f"{where}: cannot build {kind} from config {config!r:.200}: {error}") from error


def _read_tensors(contents: Contents, expected: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Read every tensor, checking names, shapes and dtypes against the rebuilt model's."""
    found = contents.names()
    for name in sorted(expected):
        if name not in found:
            raise _ContentError(f"tensor {name!r} is missing (expected {_describe(expected[name])})")
    for name in sorted(found - set(expected)):
        shape = contents.shape(name)
        raise _ContentError(
            f"unexpected tensor {name!r} of shape {shape}: the architecture has no such parameter or buffer"
        )
    state = {}
    for name, want in expected.items():
        got = contents.tensor(name)
        if got.shape != want.shape or got.dtype != want.dtype:
            raise _ContentError(f"tensor {name!r}: expected {_describe(want)}, found {_describe(got)}")
        state[name] = got
    return state


def _describe(array: np.ndarray) -> str:
    return f"{array.dtype} of shape {array.shape}"
