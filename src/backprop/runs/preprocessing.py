"""What a model does to its data before and after the network: part of the model, fitted once.

A run's preprocessing is fitted when ``backprop train`` starts a run and recorded in the model
file and the checkpoint; ``evaluate``, ``predict``, ``report``, ``--resume`` and the web page
apply the recorded one, never one recomputed from other data:

- **features** (CSV data): standardised with the training split's mean and standard deviation,
  ``x' = (x - mean) / std``, per column (the deviation 1 where a column is constant). Pixels
  are not standardised: they are already in [0, 1].
- **targets** (a CSV regression): standardised the same way, ``t' = (t - target_mean) /
  target_std``, and the network's outputs turned back with ``y = y' target_std +
  target_mean``: a target running from 25 to 346 would otherwise make the first steps'
  squared errors overflow.
- **classes** (a classification): the labels, numbers or names, by class position 0..K-1
  (``backprop.targets``); none recorded where the labels are the positions already.

``to_json`` writes exactly the dict the record has always held (keys ``classes``, ``mean``,
``std``, ``target_mean``, ``target_std``, in that order, each absent when unused; lists of
JSON numbers or labels), so a file written before this class existed reads back and is written
again byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import targets

__all__ = ["Preprocessing", "preprocess"]

#: The record's keys, in the order ``to_json`` writes them.
KEYS = ("classes", "mean", "std", "target_mean", "target_std")


@dataclass(frozen=True)
class Preprocessing:
    """A fitted preprocessing; every field None when unused (``Preprocessing()`` changes nothing).

    The numbers are kept as the record holds them (lists of floats, one per feature or target
    column) and turned into float64 arrays where they are used.
    """

    mean: list[Any] | None = None
    std: list[Any] | None = None
    target_mean: list[Any] | None = None
    target_std: list[Any] | None = None
    classes: list[Any] | None = None

    # -- fitting

    @classmethod
    def fit_classes(cls, labels: np.ndarray, *, omit_positions: bool = False) -> Preprocessing:
        """The classes of a classification's labels: all of them, sorted (``targets.fit_classes``).

        Fit to every label, not the training split's only, so that a class seen only in the
        test split is still a class. ``omit_positions`` records no classes when the labels are
        0..K-1 already (the image data sets' way: MNIST's and the 8x8 digits'). Raises
        ValueError for a single class.
        """
        classes = targets.fit_classes(labels)
        if omit_positions and classes == list(range(len(classes))):
            return cls()
        return cls(classes=classes)

    def fit(self, features: np.ndarray, values: np.ndarray | None = None) -> Preprocessing:
        """This preprocessing with the standardisation fitted to a training split.

        ``features`` ``(N, D)`` gives ``mean`` and ``std``; ``values``, a regression's targets
        ``(N, K)``, gives ``target_mean`` and ``target_std``. The classes are kept.
        """
        mean, std = _centre_and_spread(features)
        fitted = {"mean": mean.tolist(), "std": std.tolist()}
        if values is not None:
            mean, std = _centre_and_spread(values)
            fitted |= {"target_mean": mean.tolist(), "target_std": std.tolist()}
        return Preprocessing(**{**self._fields(), **fitted})

    # -- applying

    @property
    def standardises_features(self) -> bool:
        """True for a model of features (CSV data), False for one of pixels or an unrecorded one."""
        return self.mean is not None

    @property
    def standardises_targets(self) -> bool:
        """True for a regression whose network learnt standardised targets."""
        return self.target_mean is not None

    def apply(self, x: np.ndarray, dtype: np.dtype | type | str) -> np.ndarray:
        """Samples ready for the network: ``(x - mean) / std`` when standardising, in ``dtype``.

        The standardisation runs in float64 and is rounded to ``dtype`` once at the end: a raw
        feature of 1e300 is a fine number once standardised, but infinite in float32 before.
        """
        if self.mean is None:
            return np.asarray(x, dtype=dtype)
        x = np.asarray(x, dtype=np.float64)
        mean = np.asarray(self.mean, np.float64)
        return ((x - mean) / np.asarray(self.std, np.float64)).astype(dtype)

    def apply_targets(self, y: np.ndarray) -> np.ndarray:
        """``(y - target_mean) / target_std`` when standardising targets; else ``y`` unchanged."""
        if self.target_mean is None:
            return y
        return (y - np.asarray(self.target_mean)) / np.asarray(self.target_std)

    def inverse_targets(self, y: np.ndarray) -> np.ndarray:
        """The inverse of ``apply_targets``: the network's values back in the target's own units."""
        if self.target_mean is None:
            return y
        return y * np.asarray(self.target_std) + np.asarray(self.target_mean)

    def encode(self, labels: np.ndarray) -> np.ndarray:
        """Labels as class positions 0..K-1 (``targets.encode``); ValueError for a label not a class."""
        return targets.encode(labels, self.classes)

    def label(self, position: int) -> Any:
        """The label of class ``position``, as the training data spelt it."""
        return position if self.classes is None else self.classes[position]

    # -- the record

    def to_json(self) -> dict[str, Any]:
        """The record's dict: the fields in use, in ``KEYS`` order, as new lists."""
        return {key: list(value) for key, value in self._fields().items()}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Preprocessing:
        """A recorded preprocessing (``to_json``'s dict, or one a model file held before it).

        Keys other than ``KEYS`` are ignored. Raises ValueError when ``record`` is not a JSON
        object or a value is not a list.
        """
        if not isinstance(record, Mapping):
            raise ValueError(f"the preprocessing must be a JSON object, got {record!r:.80}")
        for key in KEYS:
            if key in record and not isinstance(record[key], list):
                raise ValueError(f'the preprocessing\'s "{key}" must be a list, got {record[key]!r:.80}')
        return cls(**{key: list(record[key]) for key in KEYS if key in record})

    def _fields(self) -> dict[str, list[Any]]:
        values = {key: getattr(self, key) for key in KEYS}
        return {key: value for key, value in values.items() if value is not None}


def preprocess(x: np.ndarray, preprocessing: Mapping[str, Any], dtype: np.dtype) -> np.ndarray:
    """Apply a recorded preprocessing dict: ``Preprocessing.from_json(preprocessing).apply(x, dtype)``."""
    return Preprocessing.from_json(preprocessing).apply(x, dtype)


def _centre_and_spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and standard deviation per column (the deviation 1 where a column is constant).

    Columns of values near 1e300 overflow the sums of the plain formula; for those, both are
    computed on the column divided by its largest magnitude and scaled back.
    """
    mean, std = values.mean(axis=0), values.std(axis=0)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        scale = np.max(np.abs(values), axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        scaled = values / scale
        mean, std = scaled.mean(axis=0) * scale, scaled.std(axis=0) * scale
    return mean, np.where(std > 0, std, 1.0)
