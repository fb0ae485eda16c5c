"""A run's data: a data set named by a spec, read, split and preprocessed for training.

The specs are ``DATASET_HELP``'s: ``digits`` (embedded), ``mnist`` (IDX files in a folder),
``csv:PATH`` and ``idx:IMAGES,LABELS``. Pixel data is always scaled to [0, 1] (8-bit values
divided by 255). A new run fits its ``Preprocessing`` here: the classes of every label, and for
CSV data the standardisation of the training split's features (and of a regression's target).
A run read again (``evaluate``, ``report``, ``--resume``) gives its recorded preprocessing,
which is applied instead of one fitted to this data, so the same spec, seed and fractions give
the very split and numbers the model was trained on.

Everything wrong with the data is a ValueError saying what, in the words of the command line's
options (``--dataset``, ``--target``, ``--task regress``, ``--val-fraction``): this is what
``backprop train``, ``evaluate`` and ``report`` read, and the command line prints the message as
it is. Data files are recorded by their absolute paths (``absolute_spec``), so a run can be
evaluated, reported on and resumed from any directory.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import datasets, targets
from ..paths import file_problem
from .preprocessing import Preprocessing

__all__ = ["DATASET_HELP", "MAX_TARGET", "TASKS", "Dataset", "absolute_spec", "digest", "load", "pixels"]

DATASET_HELP = "digits (embedded, default), mnist, csv:PATH or idx:IMAGES,LABELS"
#: What a target column may be taken as: decided from the column, or given.
TASKS = ("auto", "classification", "regression")
#: The largest target magnitude a regression takes: squared errors of larger values (summed
#: over a data set) overflow float64, whose largest number is 1.8e308.
MAX_TARGET = 1e150


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
    outputs: int  # the network's output units (1 logit for two classes)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    note: str = ""
    data_dir: str | None = None  # where MNIST was read from, so evaluate/report find it again
    digest: str = ""  # of every sample and target before the split: says "the same data" later

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def classes(self) -> list[Any] | None:
        """The original labels of the class positions 0..K-1, or None where they are 0..K-1 themselves."""
        return self.preprocessing.classes


def pixels(images: np.ndarray, where: str = "the pixel data") -> np.ndarray:
    """8-bit images to floats in [0, 1]: ``backprop.images.pixels``, which the web page shares."""
    from ..images import pixels as library_pixels

    return library_pixels(images, where)


def digest(x: np.ndarray, y: np.ndarray) -> str:
    """A short SHA-256 of samples and targets: equal for the same data read under another name."""
    hashed = hashlib.sha256(np.ascontiguousarray(x, np.float64).tobytes())
    hashed.update(np.ascontiguousarray(y, np.float64).tobytes())
    return hashed.hexdigest()[:16]


def absolute_spec(spec: str) -> str:
    """``spec`` with its data files as absolute paths (``csv:data.csv`` -> ``csv:/home/me/data.csv``).

    The record and the checkpoint keep this form, so that ``evaluate``, ``report`` and
    ``--resume`` find the files from any directory.
    """
    if spec.startswith("csv:") and spec[4:]:
        return "csv:" + os.path.abspath(spec[4:])
    if spec.startswith("idx:"):
        paths = spec[4:].split(",")
        if len(paths) == 2 and all(paths):
            return "idx:" + ",".join(os.path.abspath(path) for path in paths)
    return spec


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
    preprocessing: Preprocessing | None = None,
    input_shape: tuple[int, ...] | None = None,
    data_dir_origin: str = "--data-dir",
) -> Dataset:
    """Load and split the data set ``spec`` (see ``DATASET_HELP``), preprocessed for training.

    ``task`` is one of ``TASKS`` (it matters for CSV data). ``preprocessing``, when given (a
    model's recorded one), is applied instead of one fitted to this training split;
    ``input_shape``, when given (the model's), is checked before it is. ``data_dir_origin``
    says where ``data_dir`` came from, for the message if it is missing. Raises ValueError,
    in the options' words, for data that cannot be read, split or used.
    """
    if task not in TASKS:
        raise ValueError(f"load: task must be one of {', '.join(TASKS)}, got {task!r}")
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
            return _digits(preprocessing, split)
        if spec == "mnist":
            return _mnist(data_dir, data_dir_origin, preprocessing, split)
        if spec.startswith("idx:"):
            return _idx(spec, preprocessing, split)
        if spec.startswith("csv:"):
            return _csv(spec[4:], target, task, preprocessing, split)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        raise ValueError(f"--dataset {spec}: cannot read{where} ({error.strerror or error})") from error
    raise ValueError(f"unknown --dataset {spec!r}; choose {DATASET_HELP}")


def _digits(preprocessing: Preprocessing | None, split: dict[str, Any]) -> Dataset:
    x, labels = datasets.load_digits(dtype=np.float64)
    y, preprocessing = _pixel_classes(labels, preprocessing, split["spec"])
    note = "scikit-learn's 1,797 8x8 digits"
    return _split(x=x, y=y, task="classification", preprocessing=preprocessing, note=note, **split)


def _idx(spec: str, preprocessing: Preprocessing | None, split: dict[str, Any]) -> Dataset:
    paths = spec[4:].split(",")
    if len(paths) != 2 or not all(paths):
        raise ValueError(f"--dataset idx: expected idx:IMAGES,LABELS, got {spec!r}")
    for path in paths:
        _check_file(spec, path)
    images, labels = datasets.load_idx(paths[0]), datasets.load_idx(paths[1])
    if len(images) != len(labels):
        raise ValueError(f"{paths[0]} holds {len(images)} samples but {paths[1]} holds {len(labels)} labels")
    if images.ndim == 3:
        images = images[:, None]
    y, preprocessing = _pixel_classes(labels, preprocessing, paths[1])
    return _split(
        x=pixels(images, paths[0]),
        y=y,
        task="classification",
        preprocessing=preprocessing,
        note=f"{len(images)} samples from IDX files",
        **split,
    )


def _check_file(spec: str, path: str) -> None:
    """A data file named in ``--dataset`` must be a readable file: say what it is instead."""
    if not path:
        raise ValueError(f"--dataset {spec}: expected a file name after the colon, got {spec!r}")
    problem = file_problem(path)
    if problem is not None:
        # "data.csv is a folder, not a file", but "no such file data.csv"
        said = f"{path} {problem}" if problem.startswith("is ") else f"{problem} {path}"
        raise ValueError(f"--dataset {spec}: {said}")


def _mnist(
    data_dir: str | None, origin: str, preprocessing: Preprocessing | None, split: dict[str, Any]
) -> Dataset:
    if data_dir is None and "BACKPROP_MNIST" in os.environ:
        data_dir, origin = os.environ["BACKPROP_MNIST"], "$BACKPROP_MNIST"
    elif data_dir is None:
        data_dir, origin = "data/mnist", "the default; give --data-dir DIR"
    directory = Path(data_dir)
    if not directory.is_dir():
        raise ValueError(
            f"MNIST directory {directory} ({origin}): no such directory; expected one holding the "
            "MNIST IDX files"
        )
    try:
        test_images, test_labels = datasets.load_mnist(directory, "test")
    except FileNotFoundError:
        raise ValueError(
            f"MNIST directory {directory} ({origin}): expected t10k-images-idx3-ubyte and "
            "t10k-labels-idx1-ubyte (plain or .gz) there, and optionally the two train-* files; "
            f"they are at {datasets.mnist.MIRRORS[0]}"
        ) from None
    preprocessing = Preprocessing() if preprocessing is None else preprocessing
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
        dataset.data_dir = str(directory.resolve())
        return dataset
    train = train_images, train_labels
    return _mnist_train_and_test(directory, train, (test_images, test_labels), preprocessing, split)


def _mnist_train_and_test(
    directory: Path,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    preprocessing: Preprocessing,
    split: dict[str, Any],
) -> Dataset:
    """MNIST's own split: its 60,000 training images split again for validation, its 10,000 for test."""
    x, y = pixels(train[0][:, None]), train[1].astype(np.int64)
    _check_input_shape(split["spec"], x, split["input_shape"])
    (x_train, y_train), (x_val, y_val) = datasets.train_test_split(
        x, y, test_fraction=split["val_fraction"], seed=split["seed"]
    )
    dtype = split["dtype"]
    return Dataset(
        "mnist",
        "classification",
        preprocessing.apply(x_train, dtype),
        y_train,
        preprocessing.apply(x_val, dtype),
        y_val,
        preprocessing.apply(pixels(test[0][:, None]), dtype),
        test[1].astype(np.int64),
        10,
        preprocessing,
        f"MNIST ({directory}): 60,000 train, 10,000 test",
        data_dir=str(directory.resolve()),
        digest=digest(x, y),
    )


def _csv(
    path: str, target: str | None, task: str, preprocessing: Preprocessing | None, split: dict[str, Any]
) -> Dataset:
    _check_file(split["spec"], path)
    column: str | int = -1 if target is None else (int(target) if target.lstrip("-").isdigit() else target)
    try:
        x, labels = datasets.load_csv(path, column, dtype=np.float64, target_dtype=str)
    except ValueError as error:
        # The library names its own argument; the user typed --target.
        raise ValueError(str(error).replace(f"load_csv({path}): ", f"--target {target}: ", 1)) from None
    try:
        numbers: np.ndarray | None = labels.astype(np.float64)
    except ValueError:
        numbers = None  # class names
    if preprocessing is not None and task == "auto":
        # A recorded preprocessing says what the model learnt: a regression standardised its target.
        task = "regression" if preprocessing.standardises_targets else "classification"
    try:
        task = targets.decide_task(numbers, task)
    except ValueError as error:
        raise ValueError(
            f"{path}: --task regress needs numbers in the target column; it holds text ({_text(labels)!r})"
        ) from error
    note = f"{len(x)} rows, {x.shape[1]} features from {path}"
    new_run = preprocessing is None
    if task == "classification":
        y, preprocessing, described = _classes(labels if numbers is None else numbers, preprocessing, path)
        note += f"; target: {described}"
    else:
        assert numbers is not None
        _check_target_range(numbers, path)
        y = numbers.reshape(-1, 1)
    return _split(x=x, y=y, task=task, preprocessing=preprocessing, standardise=new_run, note=note, **split)


def _text(labels: np.ndarray) -> str:
    """The first label that is not a number."""
    for label in labels:
        try:
            float(label)
        except ValueError:
            return str(label)
    return ""


def _classes(
    labels: np.ndarray, preprocessing: Preprocessing | None, source: str
) -> tuple[np.ndarray, Preprocessing, str]:
    """Labels as positions 0..K-1, the preprocessing that records the classes, and a description.

    A new run (``preprocessing`` None) fits the classes to these labels, for ``_split`` to add
    the standardisation; a recorded preprocessing is kept and its classes (none: labels are
    0..K-1 themselves) decode the labels.
    """
    try:
        if preprocessing is None:
            preprocessing = Preprocessing.fit_classes(labels)
            count = len(preprocessing.classes or ())
            if count > targets.MAX_CLASSES and count > len(labels) // 2:
                raise ValueError(
                    f"the target holds {count} distinct values in {len(labels)} rows, too many to be"
                    " classes (a class needs rows to learn from); use --task regress"
                )
        y = preprocessing.encode(labels)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from error
    classes = preprocessing.classes
    shown = ", ".join(map(str, classes[:10])) + (", ..." if len(classes) > 10 else "") if classes else ""
    count = len(classes) if classes else int(y.max()) + 1
    described = f"{count} classes" + (f" ({shown})" if shown else "")
    return y, preprocessing, described


def _pixel_classes(
    labels: np.ndarray, preprocessing: Preprocessing | None, source: str
) -> tuple[np.ndarray, Preprocessing]:
    """Image labels as class positions, and the preprocessing: none for the pixels themselves,
    and the classes unless the labels are 0..K-1 already (MNIST's and the 8x8 digits' are)."""
    try:
        if preprocessing is None:
            preprocessing = Preprocessing.fit_classes(labels, omit_positions=True)
        return preprocessing.encode(labels), preprocessing
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from error


def _check_target_range(values: np.ndarray, path: str) -> None:
    largest = float(np.max(np.abs(values)))
    if largest > MAX_TARGET:
        raise ValueError(
            f"{path}: the target reaches {largest:.3g}; squared errors of values beyond {MAX_TARGET:.0e}"
            " overflow float64 (its largest number is 1.8e308), so divide the column by a power of ten"
        )


def _check_input_shape(spec: str, x: np.ndarray, input_shape: tuple[int, ...] | None) -> None:
    if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape):
        columns = " (feature columns besides the target)" if spec.startswith("csv:") else ""
        raise ValueError(
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
    preprocessing: Preprocessing | None,
    note: str,
    input_shape: tuple[int, ...] | None = None,
    standardise: bool = False,
) -> Dataset:
    """Split ``(x, y)`` and preprocess it with ``preprocessing``, after ``standardise`` fits it further.

    ``standardise`` (a new run on CSV data) fits the standardisation of every feature, and of a
    regression target too, to the training split (``Preprocessing.fit``). ``y`` holds class
    positions 0..K-1 (``preprocessing.classes`` their labels) or values ``(N, 1)``.
    """
    _check_input_shape(spec, x, input_shape)
    _check_split(spec, len(x), val_fraction, test_fraction)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = datasets.train_val_test_split(
        x, y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed
    )
    preprocessing = Preprocessing() if preprocessing is None else preprocessing
    if standardise:
        regression = task == "regression"
        preprocessing = preprocessing.fit(x_train, y_train if regression else None)
        if regression:
            mean, std = preprocessing.target_mean or [], preprocessing.target_std or []
            note += (
                f"; target standardised (mean {mean[0]:.4g}, std {std[0]:.4g}): epoch losses in those "
                "units, the test loss in the target's"
            )
    if task == "classification":
        classes = preprocessing.classes
        outputs = targets.outputs_for(task, len(classes) if classes else int(y.max()) + 1)
    else:
        outputs = int(np.prod(y.shape[1:]))
    return Dataset(
        spec,
        task,
        preprocessing.apply(x_train, dtype),
        preprocessing.apply_targets(y_train),
        preprocessing.apply(x_val, dtype),
        preprocessing.apply_targets(y_val),
        preprocessing.apply(x_test, dtype),
        preprocessing.apply_targets(y_test),
        outputs,
        preprocessing,
        note,
        digest=digest(x, y),
    )


def _check_split(spec: str, n: int, val_fraction: float, test_fraction: float) -> None:
    """Refuse, in the options' own names, fractions that leave nothing to train on."""
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"--val-fraction {val_fraction:g} and --test-fraction {test_fraction:g} add up to"
            f" {val_fraction + test_fraction:g}, leaving nothing to train on; their sum must be below 1"
        )
    held_out = sum(max(1, round(f * n)) if f > 0 else 0 for f in (val_fraction, test_fraction))
    if n - held_out < 1:
        raise ValueError(
            f"{spec} has {n} samples: --val-fraction {val_fraction:g} and --test-fraction"
            f" {test_fraction:g} hold out {held_out}, leaving none to train on"
        )
