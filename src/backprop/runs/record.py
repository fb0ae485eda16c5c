"""A trained model and what is known about its training, from a run folder or any model file.

``backprop train`` stores a record in the model file's metadata (the data set, the task, the
input shape, the preprocessing, the hyper-parameters). A file written by ``bp.save`` alone has
none of it; ``load_run`` then infers what it can from the model itself and says what it
assumed, so that any model file the library writes can still predict:

- the task: classification when the model outputs logits for a softmax or a sigmoid (``fit``
  with ``SoftmaxCrossEntropy`` or ``SigmoidBinaryCrossEntropy`` marks it so) or ends in a
  ``Softmax`` layer, regression otherwise;
- the input shape: ``(D,)`` for a first ``Linear(D -> ...)``, ``(1, s, s)`` when a ``Flatten``
  comes first and ``D = s * s``, and for a first ``Conv2d`` the first of 28x28, 8x8, 32x32
  and 16x16 images the model accepts;
- the preprocessing: none (pixels in [0, 1], no standardisation).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..io import load, load_metadata
from ..layers.activations import Softmax
from ..layers.base import Layer
from ..layers.conv import Conv2d
from ..layers.linear import Linear
from ..layers.shape import Flatten
from ..losses import CrossEntropy, Loss, MSELoss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy
from ..model import Sequential
from ..paths import file_problem
from ..targets import LOSSES, class_probabilities
from . import layout
from .preprocessing import Preprocessing

__all__ = ["RECORD_KEYS", "Run", "load_run"]

#: What ``backprop train`` records about a model.
RECORD_KEYS = ("dataset", "task", "input_shape", "outputs", "preprocessing", "hyperparameters")
#: Image sizes tried, in order, for a model whose first layer is a convolution.
_CONV_SIDES = (28, 8, 32, 16)


@dataclass
class Run:
    """A model with its training record; ``assumed`` lists what the file did not say."""

    path: Path
    model: Layer
    record: dict[str, Any]
    assumed: list[str] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.record["input_shape"])

    @property
    def task(self) -> str:
        return str(self.record["task"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.record["hyperparameters"]["dtype"])

    def check_finite(self) -> None:
        """ValueError naming the first tensor if the parameters hold NaN or infinity (a diverged
        training): such a model answers every input with NaN, which no command should pass off
        as a prediction."""
        tensors = {**self.model.params, **self.model.buffers}  # BatchNorm's running statistics too
        counts = {name: int(array.size - np.isfinite(array).sum()) for name, array in tensors.items()}
        broken = {name: count for name, count in counts.items() if count}
        if broken:
            name, count = next(iter(broken.items()))
            others = f" and more in {len(broken) - 1} other tensors" if len(broken) > 1 else ""
            raise ValueError(
                f"{self.path}: the model's parameters hold NaN or infinite values ({count} in {name!r}"
                f"{others}): its training diverged; train it again, with a smaller learning rate"
            )

    @property
    def trained_by_backprop(self) -> bool:
        """True when the file holds ``backprop train``'s whole record."""
        return not self.assumed

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(H, W) when a sample is one grey image, ``(1, H, W)`` or a square ``(H * W,)``; else None."""
        shape = self.input_shape
        if len(shape) == 3 and shape[0] == 1:
            return shape[1], shape[2]
        if len(shape) == 1 and math.isqrt(shape[0]) ** 2 == shape[0] and shape[0] >= 64:
            side = math.isqrt(shape[0])
            return side, side
        return None

    @property
    def takes_pixels(self) -> bool:
        """True when a sample is pixels in [0, 1] (8-bit grey levels divided by 255), False for features.

        A model trained on the digits, MNIST or IDX data takes pixels, one of CSV data (whose
        record has a mean/std preprocessing) takes features; a file without a record (``bp.save``)
        takes pixels when its input is an image (``image_size``).
        """
        dataset = self.record.get("dataset")
        if self.preprocessing.standardises_features:
            return False
        if isinstance(dataset, str):
            return dataset in ("digits", "mnist") or dataset.startswith("idx:")
        return self.image_size is not None

    @property
    def preprocessing(self) -> Preprocessing:
        """The recorded preprocessing (read from ``record["preprocessing"]`` each time)."""
        return Preprocessing.from_json(self.record["preprocessing"])

    def prepare(self, samples: np.ndarray) -> np.ndarray:
        """Samples ``(N, *input_shape)`` with the recorded preprocessing, in the model's dtype."""
        return self.preprocessing.apply(samples, self.dtype)

    @property
    def classes(self) -> list[Any] | None:
        """A classifier's labels by class position, or None where the positions 0..K-1 are the labels."""
        return self.preprocessing.classes

    def label(self, position: int) -> Any:
        """The label of class ``position``, as the training data spelt it."""
        return self.preprocessing.label(position)

    def class_probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """``(N, K)`` probabilities from ``bp.predict``'s outputs (a binary model's one column made two)."""
        return class_probabilities(outputs, self.model.output_transform)

    def loss(self) -> Loss:
        """The loss the model was trained with: recorded by ``train``, else told from the model."""
        name = self.record.get("loss")
        if name in LOSSES:
            return LOSSES[name]()
        if self.task == "regression":
            return MSELoss()
        if self.model.output_transform == "sigmoid":
            return SigmoidBinaryCrossEntropy()
        if isinstance(_last_layer(self.model), Softmax):
            return CrossEntropy()  # the model outputs probabilities already
        return SoftmaxCrossEntropy()


def load_run(run_or_model: str | os.PathLike[str]) -> Run:
    """The model in ``RUN/model.safetensors`` (or the file itself) and its record.

    Raises ValueError, naming the path, when there is no such file or it is not a readable
    backprop model file, when its recorded preprocessing is malformed, or when the input shape
    of a model saved without a record cannot be inferred.
    """
    path = Path(run_or_model)
    if path.is_dir():
        path = path / layout.MODEL
    problem = file_problem(path)
    if problem == "no such file":
        raise ValueError(f"{path}: no such model file (give a run folder or a .safetensors file)")
    if problem is not None:
        raise ValueError(f"{path}: {problem}")
    try:
        model = load(path)
        record = dict(load_metadata(path)["user"])
    except OSError as error:
        raise ValueError(f"{path}: cannot read the model file ({error})") from error
    assumed = []
    if "task" not in record:
        logits = model.output_transform in ("softmax", "sigmoid")
        classifier = logits or _last_layer(model).__class__ is Softmax
        record["task"] = "classification" if classifier else "regression"
        assumed.append(
            "a classifier (its outputs go through a softmax)" if classifier else "a regressor (raw outputs)"
        )
    if "input_shape" not in record:
        record["input_shape"] = list(_infer_input_shape(model, path))
        assumed.append(f"samples of shape {tuple(record['input_shape'])}")
    if "preprocessing" not in record:
        record["preprocessing"] = {}
        assumed.append("no preprocessing (pixels in [0, 1], features not standardised)")
    try:
        Preprocessing.from_json(record["preprocessing"])
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    hyper = record.get("hyperparameters")
    if not isinstance(hyper, dict) or "dtype" not in hyper:
        record["hyperparameters"] = {**(hyper if isinstance(hyper, dict) else {}), "dtype": _dtype(model)}
    record.setdefault("dataset", None)
    return Run(path, model, record, assumed)


def _last_layer(model: Layer) -> Layer:
    while isinstance(model, Sequential) and model.layers:
        model = model.layers[-1]
    return model


def _layers(model: Layer) -> list[Layer]:
    if isinstance(model, Sequential):
        return [inner for layer in model.layers for inner in _layers(layer)]
    return [model]


def _dtype(model: Layer) -> str:
    params = list(model.params.values())
    return str(params[0].dtype) if params else "float32"


def _infer_input_shape(model: Layer, path: Path) -> tuple[int, ...]:
    layers = _layers(model)
    first = next((layer for layer in layers if isinstance(layer, (Linear, Conv2d))), None)
    flattened = bool(layers) and isinstance(layers[0], Flatten)
    if isinstance(first, Linear):
        size = first.in_features
        side = math.isqrt(size)
        if not flattened:
            return (size,)
        if side * side == size:
            return (1, side, side)
    elif isinstance(first, Conv2d):
        for side in _CONV_SIDES:
            probe = np.zeros((1, first.in_channels, side, side), dtype=_dtype(model))
            try:
                model.eval()(probe)
            except ValueError:
                continue
            finally:
                model.train()
            return (first.in_channels, side, side)
    raise ValueError(
        f"{path}: the file does not record its input shape (it was not written by backprop train),"
        " and it cannot be told from the model's first layers"
    )
