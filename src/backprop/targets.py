"""What a target column is, and how a network learns it: classes or values, and the loss for each.

A **classification** maps the distinct labels, numbers or names, to positions ``0 .. K-1`` in
``classes`` (sorted, as scikit-learn's ``LabelEncoder`` does), so labels ``0`` and ``1e9`` make
two classes, not a billion outputs. Two classes train one logit with the fused
``SigmoidBinaryCrossEntropy`` (``p = sigma(z)`` is the probability of ``classes[1]``); more
train ``K`` logits with ``SoftmaxCrossEntropy``. A **regression** trains one output per target
value with ``MSELoss``. The seeds' output error is the same for all three: ``delta = y - t``
(divided by the batch).

``decide_task`` says which a column is when the user did not: text labels and whole numbers
with few distinct values (at most ``MAX_CLASSES``, and at most half the rows, so that a class
has two rows on average) are classes; anything else is a regression.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .layers.activations import sigmoid_forward
from .losses import Loss, MSELoss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy

__all__ = [
    "LOSSES",
    "MAX_CLASSES",
    "class_probabilities",
    "decide_task",
    "encode",
    "fit_classes",
    "loss_for",
    "network_targets",
    "outputs_for",
]

MAX_CLASSES = 100
#: The losses a trained model's record may name, by class name.
LOSSES: dict[str, type[Loss]] = {
    cls.__name__: cls for cls in (SoftmaxCrossEntropy, SigmoidBinaryCrossEntropy, MSELoss)
}


def decide_task(numbers: np.ndarray | None, requested: str = "auto") -> str:
    """``"classification"`` or ``"regression"`` for a target column.

    ``numbers`` is the column as float64, or None when some cell is text (class names).
    ``requested`` is ``"auto"``, ``"classification"`` or ``"regression"``; a regression of text
    is a ValueError.
    """
    if requested == "regression" and numbers is None:
        raise ValueError("a regression needs numbers in the target column, and it holds text")
    if requested != "auto":
        return requested
    if numbers is None:
        return "classification"
    whole = bool(np.all(numbers == np.round(numbers)))
    distinct = len(np.unique(numbers))
    few = distinct <= MAX_CLASSES and distinct <= max(2, len(numbers) // 2)
    return "classification" if whole and few else "regression"


def fit_classes(labels: np.ndarray) -> list[Any]:
    """The sorted distinct labels, as JSON-ready Python values (int for whole numbers, else float or str).

    Raises ValueError for a single class: there is nothing to tell apart.
    """
    classes = np.unique(labels)
    if len(classes) < 2:
        only = _plain(classes[0]) if len(classes) else None
        raise ValueError(
            f"the target holds one value, {only!r}, in every row: a classifier needs two classes or more"
        )
    return [_plain(value) for value in classes]


def encode(labels: np.ndarray, classes: Sequence[Any] | None) -> np.ndarray:
    """Each label's position in ``classes`` (int64); ``classes=None`` means labels already are 0..K-1.

    Number labels match number classes by value (``1`` and ``1.0`` are one class); text labels
    match text classes. Raises ValueError naming the labels that are not classes.
    """
    labels = np.asarray(labels)
    if classes is None:
        try:
            values = np.asarray(labels, dtype=np.float64)
        except ValueError:
            raise ValueError(
                "the model's classes are the numbers 0, 1, 2, ..., and these labels are text"
            ) from None
        if not np.all((values == np.round(values)) & (values >= 0)):
            bad = values[(values != np.round(values)) | (values < 0)][0]
            raise ValueError(f"class labels must be whole numbers 0, 1, 2, ..., got {bad:g}")
        return values.astype(np.int64)
    known = np.asarray(classes)
    if known.dtype.kind in "iuf":
        try:
            labels = labels.astype(np.float64)
        except ValueError:
            raise ValueError(
                f"the model's classes are numbers, {list(classes)[:10]}, and these labels are text"
            ) from None
        known = known.astype(np.float64)
    else:
        labels = labels.astype(str)
    index = np.clip(np.searchsorted(known, labels), 0, len(known) - 1)
    unknown = known[index] != labels
    if np.any(unknown):
        names = [_plain(value) for value in np.unique(labels[unknown])[:10]]
        raise ValueError(f"labels {names} are not among the model's classes {list(classes)[:20]}")
    return index.astype(np.int64)


def outputs_for(task: str, classes: int) -> int:
    """The network's output units: 1 logit for two classes, K for more; 1 value for a regression."""
    if task == "regression":
        return 1
    return 1 if classes == 2 else classes


def loss_for(task: str, outputs: int) -> Loss:
    """The loss a task trains with: softmax or sigmoid cross-entropy on logits, or squared error."""
    if task == "regression":
        return MSELoss()
    return SigmoidBinaryCrossEntropy() if outputs == 1 else SoftmaxCrossEntropy()


def network_targets(loss: Loss, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``y`` as ``loss`` takes it: labels ``(N,)`` for softmax, 0/1 ``(N, 1)`` for sigmoid, values as is."""
    if isinstance(loss, SigmoidBinaryCrossEntropy) and y.ndim == 1:
        return y.reshape(-1, 1).astype(dtype)
    return y


def class_probabilities(outputs: np.ndarray, output_transform: str | None) -> np.ndarray:
    """``(N, K)`` class probabilities from ``bp.predict``'s outputs, columns in the order of the classes.

    A binary model's single column ``p = P(classes[1])`` becomes ``[1 - p, p]``; softmax
    outputs are already ``(N, K)``. ``output_transform`` is the model's (``"sigmoid"``: the
    outputs are ``sigma(z)``; None: they are logits of a sigmoid if there is one column).
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        p = outputs[:, 0] if output_transform == "sigmoid" else sigmoid_forward(outputs[:, 0])
        return np.column_stack([1.0 - p, p])
    return outputs


def _plain(value: Any) -> Any:
    """A NumPy scalar as the JSON-ready Python value it stands for."""
    if isinstance(value, np.str_ | str):
        return str(value)
    number = float(value)
    return int(number) if number == round(number) and abs(number) < 2**53 else number
