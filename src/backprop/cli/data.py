"""The ``--dataset`` option: from a name to split, preprocessed arrays.

Pixel data is always scaled to [0, 1] (8-bit values divided by 255). CSV features are
standardised with the training split's mean and standard deviation; that preprocessing is
part of the model: ``train`` records it in the model file, and ``evaluate`` and ``predict``
apply the recorded one, never one recomputed from other data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import datasets
from .errors import UserError

DATASET_HELP = "digits (embedded, default), mnist, csv:PATH or idx:IMAGES,LABELS"


@dataclass
class Dataset:
    """Training, validation and test splits, and what a model needs to know about them."""

    spec: str
    task: str  # "classification" or "regression"
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    outputs: int
    preprocessing: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def pixels(images: np.ndarray) -> np.ndarray:
    """8-bit images to floats in [0, 1]: ``backprop.images.pixels``, which the web page shares."""
    from ..images import pixels as library_pixels

    return library_pixels(images)


def preprocess(x: np.ndarray, preprocessing: dict[str, Any], dtype: np.dtype) -> np.ndarray:
    """Apply a recorded preprocessing: ``backprop.runs.preprocess``, which the web page shares."""
    from ..runs import preprocess as library_preprocess

    return library_preprocess(x, preprocessing, dtype)


def load(
    spec: str,
    *,
    data_dir: str | None,
    seed: int,
    test_fraction: float,
    val_fraction: float,
    dtype: np.dtype,
    target: str | None = None,
    task: str = "auto",
    preprocessing: dict[str, Any] | None = None,
) -> Dataset:
    """Load and split the data set ``spec`` (see ``DATASET_HELP``), preprocessed for training.

    ``preprocessing``, when given, is applied instead of one fitted to this training split.
    """
    try:
        if spec == "digits":
            x, y = datasets.load_digits(dtype=np.float64)
            note = "scikit-learn's 1,797 8x8 digits"
            return _split(
                spec,
                x,
                y,
                "classification",
                seed,
                test_fraction,
                val_fraction,
                dtype,
                {},
                preprocessing,
                note,
            )
        if spec == "mnist":
            return _mnist(data_dir, seed, test_fraction, val_fraction, dtype, preprocessing)
        if spec.startswith("idx:"):
            paths = spec[4:].split(",")
            if len(paths) != 2 or not all(paths):
                raise UserError(f"--dataset idx: expected idx:IMAGES,LABELS, got {spec!r}")
            images, labels = datasets.load_idx(paths[0]), datasets.load_idx(paths[1])
            if len(images) != len(labels):
                raise UserError(
                    f"{paths[0]} holds {len(images)} samples but {paths[1]} holds {len(labels)} labels"
                )
            if images.ndim == 3:
                images = images[:, None]
            return _split(
                spec,
                pixels(images),
                labels.astype(np.int64),
                "classification",
                seed,
                test_fraction,
                val_fraction,
                dtype,
                {},
                preprocessing,
                f"{len(images)} samples from IDX files",
            )
        if spec.startswith("csv:"):
            return _csv(spec, target, task, seed, test_fraction, val_fraction, dtype, preprocessing)
    except (OSError, ValueError) as error:
        raise UserError(str(error)) from error
    raise UserError(f"unknown --dataset {spec!r}; choose {DATASET_HELP}")


def _mnist(
    data_dir: str | None,
    seed: int,
    test_fraction: float,
    val_fraction: float,
    dtype: np.dtype,
    preprocessing: dict[str, Any] | None,
) -> Dataset:
    directory = Path(data_dir or os.environ.get("BACKPROP_MNIST", "data/mnist"))
    if not directory.is_dir():
        raise UserError(f"--data-dir {directory}: no such directory (it should hold the MNIST IDX files)")
    test_images, test_labels = datasets.load_mnist(directory, "test")
    recorded: dict[str, Any] = {}
    try:
        train_images, train_labels = datasets.load_mnist(directory, "train")
    except FileNotFoundError:
        # Only the 10,000 test images are at hand: split them, as the data's README suggests.
        return _split(
            "mnist",
            pixels(test_images[:, None]),
            test_labels.astype(np.int64),
            "classification",
            seed,
            test_fraction,
            val_fraction,
            dtype,
            recorded,
            preprocessing,
            f"MNIST test set only ({directory}): split {1 - test_fraction:.0%} train / "
            f"{test_fraction:.0%} test",
        )
    (x_train, y_train), (x_val, y_val) = datasets.train_test_split(
        pixels(train_images[:, None]), train_labels.astype(np.int64), test_fraction=val_fraction, seed=seed
    )
    chosen = preprocessing or recorded
    return Dataset(
        "mnist",
        "classification",
        preprocess(x_train, chosen, dtype),
        y_train,
        preprocess(x_val, chosen, dtype),
        y_val,
        preprocess(pixels(test_images[:, None]), chosen, dtype),
        test_labels.astype(np.int64),
        10,
        chosen,
        f"MNIST ({directory}): 60,000 train, 10,000 test",
    )


def _csv(
    spec: str,
    target: str | None,
    task: str,
    seed: int,
    test_fraction: float,
    val_fraction: float,
    dtype: np.dtype,
    preprocessing: dict[str, Any] | None,
) -> Dataset:
    path = spec[4:]
    column: str | int = -1 if target is None else (int(target) if target.lstrip("-").isdigit() else target)
    x, t = datasets.load_csv(path, column, dtype=np.float64, target_dtype=np.float64)
    whole = bool(np.all(t == np.round(t)))
    if task == "auto":
        task = "classification" if whole and t.min() >= 0 and len(np.unique(t)) <= 100 else "regression"
    if task == "classification":
        if not whole or t.min() < 0:
            raise UserError(f"{path}: classification needs class labels 0, 1, 2, ... in the target column")
        t = t.astype(np.int64)
    else:
        t = t.reshape(-1, 1)
    return _split(
        spec,
        x,
        t,
        task,
        seed,
        test_fraction,
        val_fraction,
        dtype,
        None,
        preprocessing,
        f"{len(x)} rows, {x.shape[1]} features from {path}",
    )


def _split(
    spec: str,
    x: np.ndarray,
    y: np.ndarray,
    task: str,
    seed: int,
    test_fraction: float,
    val_fraction: float,
    dtype: np.dtype,
    fixed: dict[str, Any] | None,
    recorded: dict[str, Any] | None,
    note: str,
) -> Dataset:
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = datasets.train_val_test_split(
        x, y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed
    )
    chosen = recorded if recorded is not None else fixed
    if chosen is None:
        std = x_train.std(axis=0)
        chosen = {"mean": x_train.mean(axis=0).tolist(), "std": np.where(std > 0, std, 1.0).tolist()}
    outputs = int(y.max()) + 1 if task == "classification" else int(np.prod(y.shape[1:]))
    return Dataset(
        spec,
        task,
        preprocess(x_train, chosen, dtype),
        y_train,
        preprocess(x_val, chosen, dtype),
        y_val,
        preprocess(x_test, chosen, dtype),
        y_test,
        outputs,
        chosen,
        note,
    )
