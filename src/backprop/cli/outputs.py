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

from ..activity import dead_units
from ..files import atomic_write
from ..runs import layout
from ..runs.data import Dataset
from ..targets import class_probabilities


def write_json(path: Path, content: dict[str, Any]) -> None:
    """Write ``content`` as indented JSON, atomically."""
    with atomic_write(path, "w") as file:
        json.dump(content, file, indent=2)
        file.write("\n")


def write_plots(
    folder: Path,
    model: bp.Layer,
    history: dict[str, Any],
    dataset: Dataset,
    dead: np.ndarray | str | None = "find",
) -> list[Path]:
    """Draw every figure that fits the run; return the paths written.

    ``dead`` marks the first layer's dead ReLU units in ``weights.png``: ``dead_units``'s mask,
    None for none to mark, or ``"find"`` (the default) to find them on the test split.
    """
    from .. import plots

    written = [plots.plot_history(history, folder / layout.CURVES)]
    first = next(iter(model.params.values()), None)
    if first is not None and first.ndim in (2, 4):
        shape = dataset.input_shape[-2:] if len(dataset.input_shape) == 3 else None
        if first.ndim == 4 or shape is not None or int(np.sqrt(first.shape[1])) ** 2 == first.shape[1]:
            if isinstance(dead, str):
                dead = dead_units(model, dataset.x_test) if len(dataset.x_test) else None
            written.append(
                plots.plot_first_layer_weights(first, folder / layout.WEIGHTS, image_shape=shape, dead=dead)
            )
    if dataset.task == "classification":
        probabilities = class_probabilities(bp.predict(model, dataset.x_test), model.output_transform)
        predictions = probabilities.argmax(axis=1)
        names = None if dataset.classes is None else [str(label) for label in dataset.classes]
        confusion = folder / layout.CONFUSION
        written.append(plots.plot_confusion_matrix(dataset.y_test, predictions, confusion, class_names=names))
        if len(dataset.input_shape) == 3:
            written.append(
                plots.plot_misclassified(
                    dataset.x_test,
                    dataset.y_test,
                    predictions,
                    folder / layout.MISCLASSIFIED,
                    probabilities=probabilities,
                )
            )
    return written
