"""What the page's ``POST /api/predict`` answers: a drawing checked, prepared and run layer by layer.

This module needs no web library: the server (``server.py``) turns its ValueErrors into
``400`` answers (``images.NoInkError``, a drawing with no ink, into ``422``), and tests can
call it directly.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from .. import images
from ..layers.activations import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from ..layers.base import Layer
from ..model import Sequential
from ..runs import Run
from ..training import predict

__all__ = ["Drawing", "NonFiniteOutputError", "read_drawing"]

#: The layers whose outputs the page draws: the hidden units' activations a = sigma(z).
HIDDEN_ACTIVATIONS = (ReLU, Sigmoid, Tanh, LeakyReLU, GELU)
#: Decimals sent to the page: probabilities to 1e-6 (they sum to 1 within 1e-5), images and
#: activations to 1e-4, plenty for a heat map and a third of the bytes of full precision.
PROBABILITY_DECIMALS = 6
IMAGE_DECIMALS = 4


def read_drawing(payload: Any) -> np.ndarray:
    """The ``image`` of a request's JSON as a float64 ``(H, W)`` array, or a ValueError saying what is wrong.

    Expected: ``{"image": [[...], ...]}``, a 2-D list of grey levels (numbers in [0, 1], ink
    bright on a dark background), from ``MIN_SIDE`` x ``MIN_SIDE`` to ``MAX_SIDE`` x ``MAX_SIDE``.
    """
    if not isinstance(payload, dict):
        raise ValueError(
            f'expected a JSON object {{"image": [[...], ...]}}, got a JSON {_json_type(payload)}'
        )
    if "image" not in payload:
        raise ValueError(
            f'the JSON object has no "image" key (its keys: {", ".join(map(repr, payload)) or "none"})'
        )
    rows = payload["image"]
    if not isinstance(rows, list) or not rows or not all(isinstance(row, list) for row in rows):
        raise ValueError(
            f'"image" must be a 2-D list of grey levels (a list of rows), got a JSON {_json_type(rows)}'
        )
    width = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f'"image" has ragged rows: row 0 has {width} values, row {index} has {len(row)}')
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(
                    f'"image" row {index} holds a JSON {_json_type(value)}; expected numbers in [0, 1]'
                )
    height = len(rows)
    for side, name in ((height, "rows"), (width, "columns")):
        if not images.MIN_SIDE <= side <= images.MAX_SIDE:
            raise ValueError(
                f'"image" is {width}x{height} (columns x rows); expected {images.MIN_SIDE}x{images.MIN_SIDE}'
                f" to {images.MAX_SIDE}x{images.MAX_SIDE}, and it has {side} {name}"
            )
    try:
        image = np.array(rows, dtype=np.float64)
    except OverflowError:  # an integer of 400 digits: JSON has no limit, float64 has
        image = np.array([[_as_float(value) for value in row] for row in rows])
    bad = ~np.isfinite(image)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise ValueError(
            f'"image" holds NaN or infinite numbers (the first at row {row}, column {column});'
            " expected numbers in [0, 1]"
        )
    if image.min() < 0 or image.max() > 1:
        row, column = np.argwhere((image < 0) | (image > 1))[0]
        # Every digit the value needs: 1.0000001 is out of range, and "1" would not show why.
        low, high, first = map(images.shortest, (image.min(), image.max(), image[row, column]))
        raise ValueError(
            f'"image" holds values from {low} to {high} ({first} at row {row}, column {column});'
            " expected numbers in [0, 1]"
        )
    return image


class NonFiniteOutputError(ArithmeticError):
    """The model's answer for a drawing holds NaN or infinity, which JSON cannot carry."""


class Drawing:
    """Answers for one model: the class probabilities and every hidden layer of a drawn digit.

    The layers keep their last input for backward, so one lock serialises the forward passes
    of concurrent requests.
    """

    def __init__(self, run: Run) -> None:
        if run.task != "classification":
            raise ValueError(f"{run.path}: the page needs a classifier; this model is a {run.task} model")
        if run.image_size is None or not run.takes_pixels:
            # 64 standardised CSV features make an 8x8 square, but a drawing is not what they mean.
            kind = " (features, not pixels)" if run.image_size is not None else ""
            raise ValueError(
                f"{run.path}: the page needs a model of grey images;"
                f" this one takes samples of shape {run.input_shape}{kind}"
            )
        run.check_finite()
        self.run = run
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        """The model as the page's header shows it."""
        height, width = self.run.image_size or (0, 0)
        return {
            "model": str(self.run.model),
            "input_size": [height, width],
            "preparation": images.digit_format((height, width)).name,
            "dataset": self.run.record.get("dataset"),
        }

    def answer(self, image: np.ndarray) -> dict[str, Any]:
        """``{"label", "probabilities", "input", "layers"}`` for a checked ``read_drawing`` image.

        Raises ``images.NoInkError`` for an image with no ink (a blank canvas): the model would
        answer it, confidently and at random.
        """
        size = self.run.image_size
        assert size is not None  # checked in __init__
        digit = images.prepare_digit(image, size, where='"image"')  # images.NoInkError for a blank one
        x = self.run.prepare(digit.reshape(1, *self.run.input_shape))
        with self._lock:
            probabilities = self.run.class_probabilities(predict(self.run.model, x))[0]
            layers = [
                {
                    "name": name,
                    "shape": list(output.shape[1:]),
                    "activations": _rounded(output[0], IMAGE_DECIMALS),
                }
                for name, output in hidden_outputs(self.run.model, x)
            ]
        if not np.isfinite(probabilities).all():  # finite weights can still overflow: JSON has no NaN
            raise NonFiniteOutputError(
                "the model's output overflowed for this drawing: its probabilities are not finite numbers"
            )
        return {
            "label": self.run.label(int(np.argmax(probabilities))),
            "probabilities": _rounded(probabilities, PROBABILITY_DECIMALS),
            "input": _rounded(digit, IMAGE_DECIMALS),
            "layers": layers,
        }


def hidden_outputs(model: Layer, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each hidden activation layer's output for ``x``, named after the layer that feeds it.

    Runs the model's layers one by one in ``eval()`` mode; the last layer (the output) is
    left out, its answer being the probabilities.
    """
    layers = _flat_layers(model)
    outputs = []
    was_training = model.training
    model.eval()
    try:
        for index, layer in enumerate(layers):
            x = layer(x)
            if isinstance(layer, HIDDEN_ACTIVATIONS) and index < len(layers) - 1:
                source = f" after {layers[index - 1]}" if index else ""
                outputs.append((f"{type(layer).__name__}{source}", x))
    finally:
        model.train(was_training)
    return outputs


def _flat_layers(model: Layer) -> list[Layer]:
    if isinstance(model, Sequential):
        return [inner for layer in model.layers for inner in _flat_layers(layer)]
    return [model]


def _as_float(value: float) -> float:
    """A JSON number as a float, infinite when it is an integer beyond float64's range."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _rounded(array: np.ndarray, decimals: int) -> Any:
    """A JSON-ready nested list of ``array`` rounded to ``decimals``."""
    return np.round(np.asarray(array, dtype=np.float64), decimals).tolist()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array" if not value or not all(isinstance(item, list) for item in value) else "2-D array"
    return "object" if isinstance(value, dict) else type(value).__name__
