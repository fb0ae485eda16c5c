"""The ``--dataset`` option: from a name to split, preprocessed arrays.

Pixel data is always scaled to [0, 1] (8-bit values divided by 255). CSV features are
standardised with the training split's mean and standard deviation, and so is a regression
target (``target_mean``, ``target_std``: a target running from 25 to 346 would otherwise make
the first steps' squared errors overflow). That preprocessing is part of the model: ``train``
records it in the model file, and ``evaluate`` and ``predict`` apply the recorded one, never
one recomputed from other data, and turn predicted values back into the target's units.
"""

from __future__ import annotations

import hashlib
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
    data_dir: str | None = None  # where MNIST was read from, so evaluate/report find it again
    digest: str = ""  # of every sample and target before the split: says "the same data" later

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


def standardise_targets(y: np.ndarray, preprocessing: dict[str, Any]) -> np.ndarray:
    """``(y - target_mean) / target_std`` where the preprocessing has them; else ``y`` unchanged."""
    if "target_mean" not in preprocessing:
        return y
    return (y - np.asarray(preprocessing["target_mean"])) / np.asarray(preprocessing["target_std"])


def restore_targets(y: np.ndarray, preprocessing: dict[str, Any]) -> np.ndarray:
    """The inverse of ``standardise_targets``: values back in the target's own units."""
    if "target_mean" not in preprocessing:
        return y
    return y * np.asarray(preprocessing["target_std"]) + np.asarray(preprocessing["target_mean"])


def digest(x: np.ndarray, y: np.ndarray) -> str:
    """A short SHA-256 of samples and targets: equal for the same data read under another name."""
    hashed = hashlib.sha256(np.ascontiguousarray(x, np.float64).tobytes())
    hashed.update(np.ascontiguousarray(y, np.float64).tobytes())
    return hashed.hexdigest()[:16]


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
    input_shape: tuple[int, ...] | None = None,
    data_dir_origin: str = "--data-dir",
) -> Dataset:
    """Load and split the data set ``spec`` (see ``DATASET_HELP``), preprocessed for training.

    ``preprocessing``, when given (a model's recorded one), is applied instead of one fitted to
    this training split; ``input_shape``, when given (the model's), is checked before it is.
    ``data_dir_origin`` says where ``data_dir`` came from, for the message if it is missing.
    """
    split = {
        "spec": spec,
        "seed": seed,
        "test_fraction": test_fraction,
        "val_fraction": val_fraction,
        "dtype": dtype,
        "input_shape": input_shape,
    }
    try:
        if spec == "digits":
            x, y = datasets.load_digits(dtype=np.float64)
            return _split(
                x=x,
                y=y,
                task="classification",
                preprocessing={} if preprocessing is None else preprocessing,
                note="scikit-learn's 1,797 8x8 digits",
                **split,
            )
        if spec == "mnist":
            return _mnist(data_dir, data_dir_origin, preprocessing, split)
        if spec.startswith("idx:"):
            paths = spec[4:].split(",")
            if len(paths) != 2 or not all(paths):
                raise UserError(f"--dataset idx: expected idx:IMAGES,LABELS, got {spec!r}")
            for path in paths:
                _check_file(spec, path)
            images, labels = datasets.load_idx(paths[0]), datasets.load_idx(paths[1])
            if len(images) != len(labels):
                raise UserError(
                    f"{paths[0]} holds {len(images)} samples but {paths[1]} holds {len(labels)} labels"
                )
            if images.ndim == 3:
                images = images[:, None]
            return _split(
                x=pixels(images),
                y=labels.astype(np.int64),
                task="classification",
                preprocessing={} if preprocessing is None else preprocessing,
                note=f"{len(images)} samples from IDX files",
                **split,
            )
        if spec.startswith("csv:"):
            return _csv(spec[4:], target, task, preprocessing, split)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        raise UserError(f"--dataset {spec}: cannot read{where} ({error.strerror or error})") from error
    except ValueError as error:
        raise UserError(str(error)) from error
    raise UserError(f"unknown --dataset {spec!r}; choose {DATASET_HELP}")


def recorded_data_dir(given: str | None, record: dict[str, Any], run: str) -> tuple[str | None, str]:
    """``--data-dir`` if given, else the directory ``train`` read MNIST from; and which it was."""
    if given is not None or record.get("data_dir") is None:
        return given, "--data-dir"
    return record["data_dir"], f"where {run} was trained from; give --data-dir if it moved"


def _check_file(spec: str, path: str) -> None:
    """A data file named in ``--dataset`` must be a file: say so before ``open`` says Errno 21."""
    if not path:
        raise UserError(f"--dataset {spec}: expected a file name after the colon, got {spec!r}")
    if Path(path).is_dir():
        raise UserError(f"--dataset {spec}: {path} is a directory, expected a file")
    if not Path(path).exists():
        raise UserError(f"--dataset {spec}: no such file {path}")


def _mnist(
    data_dir: str | None, origin: str, preprocessing: dict[str, Any] | None, split: dict[str, Any]
) -> Dataset:
    if data_dir is None and "BACKPROP_MNIST" in os.environ:
        data_dir, origin = os.environ["BACKPROP_MNIST"], "$BACKPROP_MNIST"
    elif data_dir is None:
        data_dir, origin = "data/mnist", "the default; give --data-dir DIR"
    directory = Path(data_dir)
    if not directory.is_dir():
        raise UserError(
            f"MNIST directory {directory} ({origin}): no such directory; expected one holding the "
            "MNIST IDX files"
        )
    try:
        test_images, test_labels = datasets.load_mnist(directory, "test")
    except FileNotFoundError:
        raise UserError(
            f"MNIST directory {directory} ({origin}): expected t10k-images-idx3-ubyte and "
            "t10k-labels-idx1-ubyte (plain or .gz) there, and optionally the two train-* files; "
            f"they are at {datasets.mnist.MIRRORS[0]}"
        ) from None
    preprocessing = {} if preprocessing is None else preprocessing
    where = str(directory.resolve())
    try:
        train_images, train_labels = datasets.load_mnist(directory, "train")
    except FileNotFoundError:
        # Only the 10,000 test images are at hand: split them, as the data's README suggests.
        test_fraction = split["test_fraction"]
        dataset = _split(
            x=pixels(test_images[:, None]),
            y=test_labels.astype(np.int64),
            task="classification",
            preprocessing=preprocessing,
            note=f"MNIST test set only ({directory}): split {1 - test_fraction:.0%} train / "
            f"{test_fraction:.0%} test",
            **split,
        )
        dataset.data_dir = where
        return dataset
    x, y = pixels(train_images[:, None]), train_labels.astype(np.int64)
    _check_input_shape(split["spec"], x, split["input_shape"])
    (x_train, y_train), (x_val, y_val) = datasets.train_test_split(
        x, y, test_fraction=split["val_fraction"], seed=split["seed"]
    )
    dtype = split["dtype"]
    return Dataset(
        "mnist",
        "classification",
        preprocess(x_train, preprocessing, dtype),
        y_train,
        preprocess(x_val, preprocessing, dtype),
        y_val,
        preprocess(pixels(test_images[:, None]), preprocessing, dtype),
        test_labels.astype(np.int64),
        10,
        preprocessing,
        f"MNIST ({directory}): 60,000 train, 10,000 test",
        data_dir=where,
        digest=digest(x, y),
    )


def _csv(
    path: str, target: str | None, task: str, preprocessing: dict[str, Any] | None, split: dict[str, Any]
) -> Dataset:
    _check_file(split["spec"], path)
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
        x=x,
        y=t,
        task=task,
        preprocessing=preprocessing,
        note=f"{len(x)} rows, {x.shape[1]} features from {path}",
        **split,
    )


def _check_input_shape(spec: str, x: np.ndarray, input_shape: tuple[int, ...] | None) -> None:
    if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape):
        columns = " (feature columns besides the target)" if spec.startswith("csv:") else ""
        raise UserError(
            f"the model expects samples of shape {tuple(input_shape)}, {spec} has samples of shape "
            f"{tuple(x.shape[1:])}{columns}"
        )


def _split(
    *,
    spec: str,
    x: np.ndarray,
    y: np.ndarray,
    task: str,
    seed: int,
    test_fraction: float,
    val_fraction: float,
    dtype: np.dtype,
    preprocessing: dict[str, Any] | None,
    note: str,
    input_shape: tuple[int, ...] | None = None,
) -> Dataset:
    """Split ``(x, y)`` and preprocess it; ``preprocessing`` None means: fit one to the training split.

    The fitted one standardises every feature, and a regression target too, with the training
    split's mean and standard deviation (1 where a column is constant).
    """
    _check_input_shape(spec, x, input_shape)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = datasets.train_val_test_split(
        x, y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed
    )
    if preprocessing is None:
        preprocessing = {"mean": x_train.mean(axis=0).tolist(), "std": _spread(x_train).tolist()}
        if task == "regression":
            mean, std = y_train.mean(axis=0), _spread(y_train)
            preprocessing |= {"target_mean": mean.tolist(), "target_std": std.tolist()}
            note += (
                f"; target standardised (mean {mean[0]:.4g}, std {std[0]:.4g}): epoch losses in those "
                "units, the test loss in the target's"
            )
    outputs = int(y.max()) + 1 if task == "classification" else int(np.prod(y.shape[1:]))
    return Dataset(
        spec,
        task,
        preprocess(x_train, preprocessing, dtype),
        standardise_targets(y_train, preprocessing),
        preprocess(x_val, preprocessing, dtype),
        standardise_targets(y_val, preprocessing),
        preprocess(x_test, preprocessing, dtype),
        standardise_targets(y_test, preprocessing),
        outputs,
        preprocessing,
        note,
        digest=digest(x, y),
    )


def _spread(values: np.ndarray) -> np.ndarray:
    """The standard deviation per column, 1 where a column is constant (nothing to divide by)."""
    std = values.std(axis=0)
    return np.where(std > 0, std, 1.0)
