"""Data checked once, before the first step: NaN inputs are a data problem, not a divergence.

``check_data`` is what ``fit`` and ``evaluate`` run on ``(x, y)`` before any weight changes. It
costs one vectorised pass over the inputs (``np.isfinite`` in blocks, so no mask the size of the
data set is ever allocated) and one forward pass of a single sample, which proves the samples'
shape fits the model's first layer and tells how many outputs (classes) the model has. Only
when something is wrong does it spend more, to name the count and the first bad place.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from .layers.base import Layer
from .layers.linear import is_sparse
from .losses import BinaryCrossEntropy, CrossEntropy, Loss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy

# Elements per block of the finiteness scan: a 4 MB mask, whatever the data set's size.
_BLOCK = 1 << 22


def check_data(
    model: Layer, loss: Loss, x: np.ndarray, y: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` as arrays in the model's dtype, or a ValueError naming the first problem.

    ``name`` starts each message (``"fit"``, ``"fit validation_data"``, ``"evaluate"``).
    Refused: different sample counts, an empty set, NaN or infinite inputs or float targets,
    samples whose shape the model does not take, class labels that are not whole numbers or
    lie outside ``[0, C)`` for a model with ``C`` outputs, targets outside ``[0, 1]`` for the
    binary cross-entropies. Whole-number float labels become int64; 0/1 integer or boolean
    targets of a binary cross-entropy become the model's dtype.

    ``x`` may be a SciPy sparse matrix (for a model whose first layer is a ``Linear``): it stays
    sparse, in CSR form, whose row slices the batches are; its stored values are checked.
    """
    sparse = is_sparse(x)
    x = cast(Any, x).tocsr() if sparse else np.asarray(x)  # SciPy's matrices are untyped
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != len(y):
        raise ValueError(
            f"{name}: inputs and targets must have the same number of samples, got {x.shape} and {y.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name}: the data set is empty")
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name}: x must hold numbers, got dtype {x.dtype}")
    dtype = model.dtype
    if dtype is not None and x.dtype != dtype:
        # One conversion here instead of an error per batch: the data follow the model.
        x = x.astype(dtype)
    if sparse:
        _check_finite_sparse(x, f"{name}: x")
    else:
        _check_finite(x, f"{name}: x")
    outputs = _outputs_of_one_sample(model, x, name)
    if isinstance(loss, (SoftmaxCrossEntropy, CrossEntropy)) and y.ndim == 1:
        return x, _check_labels(y, outputs.shape[1], name)
    if y.dtype.kind not in "fiub":
        raise TypeError(f"{name}: y must hold numbers, got dtype {y.dtype}")
    if y.shape[1:] != outputs.shape[1:]:
        hint = " (reshape them with y.reshape(-1, 1))" if outputs.shape[1:] == (*y.shape[1:], 1) else ""
        raise ValueError(
            f"{name}: the model outputs {outputs.shape[1:]} per sample, the targets have shape"
            f" {y.shape[1:]} per sample{hint}"
        )
    if y.dtype.kind == "f":
        _check_finite(y, f"{name}: y")
        if dtype is not None:
            y = y.astype(dtype, copy=False)
    if isinstance(loss, (BinaryCrossEntropy, SigmoidBinaryCrossEntropy)):
        y = _check_probabilities(y, loss, name, dtype)
    return x, y


def _check_finite(array: np.ndarray, what: str) -> None:
    if array.dtype.kind != "f":
        return
    flat = array.reshape(-1)
    if all(np.isfinite(flat[i : i + _BLOCK]).all() for i in range(0, flat.size, _BLOCK)):
        return
    nan = int(np.count_nonzero(np.isnan(array)))
    infinite = int(np.count_nonzero(np.isinf(array)))
    counts = " and ".join(
        text for count, text in ((nan, f"{nan} NaN"), (infinite, f"{infinite} infinite")) if count
    )
    first = np.unravel_index(int(np.flatnonzero(~np.isfinite(flat))[0]), array.shape)
    raise ValueError(f"{what} holds {counts} values; the first at {_place(first)}")


def _check_finite_sparse(x: Any, what: str) -> None:
    """``_check_finite`` for a CSR matrix: its stored values, the place named by row and column."""
    if x.dtype.kind != "f" or np.isfinite(x.data).all():
        return
    bad = np.flatnonzero(~np.isfinite(x.data))
    nan = int(np.count_nonzero(np.isnan(x.data)))
    infinite = bad.size - nan
    counts = " and ".join(
        text for count, text in ((nan, f"{nan} NaN"), (infinite, f"{infinite} infinite")) if count
    )
    row = int(np.searchsorted(x.indptr, bad[0], side="right") - 1)
    raise ValueError(f"{what} holds {counts} values; the first at {_place((row, int(x.indices[bad[0]])))}")


def _place(index: tuple[int | np.integer, ...]) -> str:
    sample, rest = int(index[0]), tuple(int(i) for i in index[1:])
    if not rest:
        return f"sample {sample}"
    if len(rest) == 1:
        return f"sample {sample}, feature {rest[0]}"
    return f"sample {sample}, position {rest}"


def _outputs_of_one_sample(model: Layer, x: np.ndarray, name: str) -> np.ndarray:
    """The model's output for ``x[:1]`` in eval mode (no Dropout draw), or why it cannot run."""
    was_training = model.training
    model.eval()
    try:
        return np.asarray(model(x[:1]))
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{name}: the model does not take samples of shape {x.shape[1:]}: {error}"
        ) from error
    finally:
        model.train(was_training)


def _check_probabilities(y: np.ndarray, loss: Loss, name: str, dtype: np.dtype | None) -> np.ndarray:
    """Targets of a binary cross-entropy: every value in [0, 1], as floats of the model's dtype."""
    outside = (y < 0) | (y > 1)
    if outside.any():
        first = np.unravel_index(int(np.flatnonzero(outside)[0]), y.shape)
        raise ValueError(
            f"{name}: {type(loss).__name__} needs targets in [0, 1] (labels 0/1 or probabilities);"
            f" y holds {int(outside.sum())} outside, the first {y[first].item():g} at {_place(first)}"
        )
    if y.dtype.kind != "f" and dtype is not None:
        y = y.astype(dtype)  # once here rather than in the loss at every batch
    return y


def _check_labels(y: np.ndarray, classes: int, name: str) -> np.ndarray:
    if y.dtype.kind == "f":
        _check_finite(y, f"{name}: y")
        fractional = y != np.round(y)
        if fractional.any():
            first = int(np.flatnonzero(fractional)[0])
            raise ValueError(
                f"{name}: class labels must be whole numbers; y holds {int(fractional.sum())} that are not,"
                f" the first {float(y[first]):g} at sample {first}"
            )
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iu":
        raise TypeError(f"{name}: class labels must be integers, got dtype {y.dtype}")
    outside = (y < 0) | (y >= classes)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{name}: labels must lie in [0, {classes}) for a model with {classes} outputs; y holds"
            f" {int(outside.sum())} outside, the first {int(y[first])} at sample {first}"
        )
    return y
