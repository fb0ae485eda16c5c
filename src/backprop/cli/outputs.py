"""What a run writes besides its model: ``metrics.json`` (and the bench's JSON) and the figures.

``train`` and ``report`` draw the same figures and ``train`` and ``bench`` write JSON the same
way, so both writers live here, beside neither command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import backprop as bp

from ..files import atomic_write
from .data import Dataset


def write_json(path: Path, content: dict[str, Any]) -> None:
    """Write ``content`` as indented JSON, atomically."""
    with atomic_write(path, "w") as file:
        json.dump(content, file, indent=2)
        file.write("\n")


def write_plots(folder: Path, model: bp.Layer, history: dict[str, Any], dataset: Dataset) -> list[Path]:
    """Draw every figure that fits the run; return the paths written."""
    from .. import plots

    written = [plots.plot_history(history, folder / "curves.png")]
    first = next(iter(model.params.values()), None)
    if first is not None and first.ndim in (2, 4):
        shape = dataset.input_shape[-2:] if len(dataset.input_shape) == 3 else None
        if first.ndim == 4 or shape is not None or int(np.sqrt(first.shape[1])) ** 2 == first.shape[1]:
            written.append(plots.plot_first_layer_weights(first, folder / "weights.png", image_shape=shape))
    if dataset.task == "classification":
        probabilities = bp.predict(model, dataset.x_test)
        predictions = probabilities.argmax(axis=1)
        written.append(plots.plot_confusion_matrix(dataset.y_test, predictions, folder / "confusion.png"))
        if len(dataset.input_shape) == 3:
            written.append(
                plots.plot_misclassified(
                    dataset.x_test,
                    dataset.y_test,
                    predictions,
                    folder / "misclassified.png",
                    probabilities=probabilities,
                )
            )
    return written
