"""``backprop predict RUN_OR_MODEL FILE...``: the class (and its probability) of each input.

PNG and JPEG images are prepared as the model's training digits were made
(``backprop.images.prepare_digit``: grey, ink light on black, cropped to the ink, scaled and
centred by its centre of mass: 20x20 in 28x28 for MNIST, filling 8x8 for the 8x8 digits).
``.npy`` files hold one sample or a batch, read without pickle: for a model of images, 8-bit
grey levels (any integer dtype, 0..255) or floats in [0, 1]; for a model of CSV features, any
finite numbers. Whatever else (NaN, out-of-range pixels, text, empty arrays) is refused.
Any model file the library writes works; where it does not record its training, what is
assumed is said on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import backprop as bp

from .. import images
from ..paths import file_problem
from ..runs import Run
from . import arguments
from .errors import UserError
from .runs import note_assumptions, open_model


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict",
        help="classify images (PNG/JPEG) or .npy arrays with a trained model",
        description="Print the predicted class and its probability (or the predicted value, "
        "for regression) of each input.",
    )
    parser.add_argument("model", metavar="RUN_OR_MODEL", help="a run folder or a .safetensors file")
    parser.add_argument("files", metavar="FILE", nargs="+", help="PNG/JPEG images or .npy arrays")
    parser.add_argument(
        "--top", type=arguments.positive_int, default=1, help="show the k most probable classes (default 1)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model_run = open_model(args.model)
    inputs = [(name, read_samples(Path(name), model_run)) for name in args.files]
    note_assumptions(model_run, "predict")
    for name, samples in inputs:
        outputs = bp.predict(model_run.model, model_run.prepare(samples))
        if model_run.task == "classification":
            outputs = model_run.class_probabilities(outputs)
        for index, row in enumerate(outputs):
            label = name if len(outputs) == 1 else f"{name}[{index}]"
            if model_run.task == "classification":
                best = np.argsort(row, kind="stable")[::-1][: max(1, args.top)]
                print(f"{label}: " + ", ".join(f"{model_run.label(k)} ({row[k]:.3f})" for k in best))
            else:
                values = model_run.preprocessing.inverse_targets(row)  # in the target's units
                print(f"{label}: " + " ".join(f"{value:.6g}" for value in values))
    return 0


def read_samples(path: Path, model_run: Run) -> np.ndarray:
    """One file as a batch ``(N, *input_shape)`` of floats (pixels in [0, 1]).

    Scaled or refused, never guessed at: an image with no ink, a ``.npy`` array of pixels
    outside 0..255 (integers) or [0, 1] (floats), NaN or infinite values, a dtype that is not
    a real number, and an empty array are each refused with one line naming the file.
    """
    shape = model_run.input_shape
    problem = file_problem(path)
    if problem is not None:
        raise UserError(f"{path}: {problem}; give image files (PNG/JPEG) or .npy arrays")
    if path.suffix.lower() == ".npy":
        array = _npy_samples(path, model_run)
        for candidate in (shape, shape[1:] if len(shape) == 3 and shape[0] == 1 else None):
            if candidate and array.shape == candidate:
                return array.reshape(1, *shape)
            if candidate and array.shape[1:] == candidate:
                return array.reshape(len(array), *shape)
        raise UserError(
            f"{path}: expected an array of shape {shape} or (N, {', '.join(map(str, shape))}), "
            f"got {array.shape}"
        )
    if path.suffix.lower() in images.IMAGE_SUFFIXES:
        size = model_run.image_size
        if size is None or not model_run.takes_pixels:
            kind = "" if model_run.takes_pixels else " (features, not pixels)"
            raise UserError(f"{path}: this model takes samples of shape {shape}{kind}, not images")
        try:
            digit = images.prepare_digit(images.read_image(path), size, where=str(path))
        except ValueError as error:
            raise UserError(str(error)) from error
        return digit.reshape(1, *shape)
    raise UserError(f"{path}: unknown file type {path.suffix!r}; give PNG/JPEG images or .npy arrays")


def _npy_samples(path: Path, model_run: Run) -> np.ndarray:
    """A ``.npy`` file's array as float64, by the rules of the model's inputs (``Run.takes_pixels``).

    Pixels (``images.pixels``): integers of any dtype are 8-bit grey levels 0..255, divided by
    255; bool is 0/1; floats are taken as they are, within [0, 1]. Features (a model of CSV
    data): any finite real numbers, integers and bool as numbers. Read without pickle.
    """
    try:
        # Memory-mapped, so that a header promising more than the file holds is refused before
        # anything is allocated; the values are read as they are checked.
        loaded = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        text = str(error)
        if "pickled" in text or "Python objects" in text:
            what = "an array of Python objects" if "Python objects" in text else "pickled data"
            message = f"{path}: holds {what}, which backprop does not read (no pickle); expected numbers"
            raise UserError(message) from error
        if "greater than file size" in text:
            text = "its header promises more data than the file holds"
        raise UserError(f"{path}: not a readable .npy array ({text})") from error
    if not isinstance(loaded, np.ndarray):  # np.load opens a .npz archive whatever the name
        names = ", ".join(loaded.files)
        loaded.close()
        raise UserError(f"{path}: is a .npz archive (of {names or 'no arrays'}), not a .npy array")
    try:
        if model_run.takes_pixels:
            return np.asarray(images.pixels(loaded, where=str(path)))
        return np.asarray(images.numbers(loaded, str(path)))
    except ValueError as error:
        raise UserError(str(error)) from error
