"""The ``--dataset`` option: from a name to split, preprocessed arrays.

Pixel data is always scaled to [0, 1] (8-bit values divided by 255). CSV features are
standardised with the training split's mean and standard deviation, and so is a regression
target (``target_mean``, ``target_std``: a target running from 25 to 346 would otherwise make
the first steps' squared errors overflow). A classification's labels, numbers or names, become
positions 0..K-1 in ``classes`` (``backprop.targets``). That preprocessing is part of the
model: ``train`` records it in the model file, and ``evaluate`` and ``predict`` apply the
recorded one, never one recomputed from other data, turn predicted values back into the
target's units and class positions back into the labels.

Data files are recorded by their absolute paths, so a run can be evaluated, reported on and
resumed from any directory.
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
    outputs: int  # the network's output units (1 logit for two classes)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    data_dir: str | None = None  # where MNIST was read from, so evaluate/report find it again
    digest: str = ""  # of every sample and target before the split: says "the same data" later

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def classes(self) -> list[Any] | None:
        """The original labels of the class positions 0..K-1, or None where they are 0..K-1 themselves."""
        return self.preprocessing.get("classes")


def pixels(images: np.ndarray, where: str = "the pixel data") -> np.ndarray:
    """8-bit images to floats in [0, 1]: ``backprop.images.pixels``, which the web page shares."""
    from ..images import pixels as library_pixels

    return library_pixels(images, where)


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
    task = task_of(task)
    try:
        if spec == "digits":
            x, labels = datasets.load_digits(dtype=np.float64)
            y, preprocessing = _pixel_classes(labels, preprocessing, spec)
            return _split(
                x=x,
                y=y,
                task="classification",
                preprocessing=preprocessing,
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
            y, preprocessing = _pixel_classes(labels, preprocessing, paths[1])
            return _split(
                x=pixels(images, paths[0]),
                y=y,
                task="classification",
                preprocessing=preprocessing,
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


TASKS = {"auto": "auto", "classify": "classification", "regress": "regression"}
#: The spellings of ``--task`` before it was ``classify|regress``, kept in older checkpoints.
TASK_ALIASES = {"classification": "classification", "regression": "regression"}


def task_of(option: str) -> str:
    """``--task``'s value as ``"auto"``, ``"classification"`` or ``"regression"``."""
    return TASKS.get(option) or TASK_ALIASES[option]


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


def recorded_data_dir(given: str | None, record: dict[str, Any], run: str) -> tuple[str | None, str]:
    """``--data-dir`` if given, else the directory ``train`` read MNIST from; and which it was."""
    if given is not None or record.get("data_dir") is None:
        return given, "--data-dir"
    return record["data_dir"], f"where {run} was trained from; give --data-dir if it moved"


def _check_file(spec: str, path: str) -> None:
    """A data file named in ``--dataset`` must be a readable file: say what it is instead."""
    if not path:
        raise UserError(f"--dataset {spec}: expected a file name after the colon, got {spec!r}")
    problem = file_problem(path)
    if problem is not None:
        # "data.csv is a folder, not a file", but "no such file data.csv"
        said = f"{path} {problem}" if problem.startswith("is ") else f"{problem} {path}"
        raise UserError(f"--dataset {spec}: {said}")


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
    try:
        x, labels = datasets.load_csv(path, column, dtype=np.float64, target_dtype=str)
    except ValueError as error:
        # The library names its own argument; the user typed --target.
        raise UserError(str(error).replace(f"load_csv({path}): ", f"--target {target}: ", 1)) from None
    try:
        numbers: np.ndarray | None = labels.astype(np.float64)
    except ValueError:
        numbers = None  # class names
    if preprocessing is not None and task == "auto":
        # A recorded preprocessing says what the model learnt: a regression standardised its target.
        task = "regression" if "target_mean" in preprocessing else "classification"
    try:
        task = targets.decide_task(numbers, task)
    except ValueError as error:
        raise UserError(
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
    labels: np.ndarray, preprocessing: dict[str, Any] | None, source: str
) -> tuple[np.ndarray, dict[str, Any] | None, str]:
    """Labels as positions 0..K-1, the preprocessing that records the classes, and a description.

    A new run (``preprocessing`` None) fits the classes to these labels and returns
    ``{"classes": [...]}`` for ``_split`` to complete; a recorded preprocessing is kept and its
    classes (none: labels are 0..K-1 themselves) decode the labels.
    """
    try:
        if preprocessing is None:
            classes = targets.fit_classes(labels)
            if len(classes) > targets.MAX_CLASSES and len(classes) > len(labels) // 2:
                raise ValueError(
                    f"the target holds {len(classes)} distinct values in {len(labels)} rows, too many to be"
                    " classes (a class needs rows to learn from); use --task regress"
                )
            preprocessing = {"classes": classes}
        y = targets.encode(labels, preprocessing.get("classes"))
    except ValueError as error:
        raise UserError(f"{source}: {error}") from error
    classes = preprocessing.get("classes")
    shown = ", ".join(map(str, classes[:10])) + (", ..." if len(classes) > 10 else "") if classes else ""
    count = len(classes) if classes else int(y.max()) + 1
    described = f"{count} classes" + (f" ({shown})" if shown else "")
    return y, preprocessing, described


def _pixel_classes(
    labels: np.ndarray, preprocessing: dict[str, Any] | None, source: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """Image labels as class positions, and the preprocessing: none for the pixels themselves,
    and the classes unless the labels are 0..K-1 already (MNIST's and the 8x8 digits' are)."""
    try:
        if preprocessing is None:
            classes = targets.fit_classes(labels)
            preprocessing = {} if classes == list(range(len(classes))) else {"classes": classes}
        return targets.encode(labels, preprocessing.get("classes")), preprocessing
    except ValueError as error:
        raise UserError(f"{source}: {error}") from error


#: The largest target magnitude a regression takes: squared errors of larger values (summed
#: over a data set) overflow float64, whose largest number is 1.8e308.
MAX_TARGET = 1e150


def _check_target_range(values: np.ndarray, path: str) -> None:
    largest = float(np.max(np.abs(values)))
    if largest > MAX_TARGET:
        raise UserError(
            f"{path}: the target reaches {largest:.3g}; squared errors of values beyond {MAX_TARGET:.0e}"
            " overflow float64 (its largest number is 1.8e308), so divide the column by a power of ten"
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
    standardise: bool = False,
) -> Dataset:
    """Split ``(x, y)`` and preprocess it with ``preprocessing``, after ``standardise`` adds to it.

    ``standardise`` (a new run on CSV data) fits the standardisation of every feature, and of a
    regression target too, to the training split's mean and standard deviation (1 where a
    column is constant). ``y`` holds class positions 0..K-1 (``preprocessing["classes"]`` their
    labels) or values ``(N, 1)``.
    """
    _check_input_shape(spec, x, input_shape)
    _check_split(spec, len(x), val_fraction, test_fraction)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = datasets.train_val_test_split(
        x, y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed
    )
    if standardise:
        mean, std = _centre_and_spread(x_train)
        preprocessing = {**(preprocessing or {}), "mean": mean.tolist(), "std": std.tolist()}
        if task == "regression":
            mean, std = _centre_and_spread(y_train)
            preprocessing |= {"target_mean": mean.tolist(), "target_std": std.tolist()}
            note += (
                f"; target standardised (mean {mean[0]:.4g}, std {std[0]:.4g}): epoch losses in those "
                "units, the test loss in the target's"
            )
    if task == "classification":
        classes = preprocessing.get("classes")
        outputs = targets.outputs_for(task, len(classes) if classes else int(y.max()) + 1)
    else:
        outputs = int(np.prod(y.shape[1:]))
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


def _check_split(spec: str, n: int, val_fraction: float, test_fraction: float) -> None:
    """Refuse, in the options' own names, fractions that leave nothing to train on."""
    if val_fraction + test_fraction >= 1:
        raise UserError(
            f"--val-fraction {val_fraction:g} and --test-fraction {test_fraction:g} add up to"
            f" {val_fraction + test_fraction:g}, leaving nothing to train on; their sum must be below 1"
        )
    held_out = sum(max(1, round(f * n)) if f > 0 else 0 for f in (val_fraction, test_fraction))
    if n - held_out < 1:
        raise UserError(
            f"{spec} has {n} samples: --val-fraction {val_fraction:g} and --test-fraction"
            f" {test_fraction:g} hold out {held_out}, leaving none to train on"
        )


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
