"""``backprop predict RUN_OR_MODEL FILE...``: the class (and its probability) of each input.

PNG and JPEG images are read with Pillow, turned to grey, resized to the model's input size
and scaled to [0, 1]; a light background is inverted, since the digits the models learn are
light strokes on black. ``.npy`` files hold one sample or a batch, read without pickle.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import backprop as bp

from . import arguments, data
from .errors import UserError
from .runs import load_run

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}


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
    model, record = load_run(args.model)
    shape = tuple(record["input_shape"])
    dtype = np.dtype(record["hyperparameters"]["dtype"])
    for name in args.files:
        samples = read_samples(Path(name), shape)
        outputs = bp.predict(model, data.preprocess(samples, record["preprocessing"], dtype))
        for index, row in enumerate(outputs):
            label = name if len(outputs) == 1 else f"{name}[{index}]"
            if record["task"] == "classification":
                best = np.argsort(row)[::-1][: max(1, args.top)]
                print(f"{label}: " + ", ".join(f"{k} ({row[k]:.3f})" for k in best))
            else:
                values = data.restore_targets(row, record["preprocessing"])  # back in the target's units
                print(f"{label}: " + " ".join(f"{value:.6g}" for value in values))
    return 0


def read_samples(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """One file as a batch ``(N, *shape)`` of floats (pixels in [0, 1])."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise UserError(f"{path}: not a readable .npy array ({error})") from error
        array = data.pixels(array) if array.dtype == np.uint8 else array.astype(np.float64)
        for candidate in (shape, shape[1:] if len(shape) == 3 and shape[0] == 1 else None):
            if candidate and array.shape == candidate:
                return array.reshape(1, *shape)
            if candidate and array.shape[1:] == candidate:
                return array.reshape(len(array), *shape)
        raise UserError(
            f"{path}: expected an array of shape {shape} or (N, {', '.join(map(str, shape))}), "
            f"got {array.shape}"
        )
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if len(shape) != 3 or shape[0] != 1:
            raise UserError(f"{path}: this model takes samples of shape {shape}, not images")
        return read_image(path, shape[1:])[None, None]
    raise UserError(f"{path}: unknown file type {path.suffix!r}; give PNG/JPEG images or .npy arrays")


def read_image(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A grey image of ``size`` (height, width), light strokes on black, values in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            grey = image.convert("L").resize((size[1], size[0]), Image.Resampling.BOX)
    except (OSError, UnidentifiedImageError) as error:
        raise UserError(f"{path}: not a readable image ({error})") from error
    pixels = np.asarray(grey, dtype=np.float64) / 255.0
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return 1.0 - pixels if border.mean() > 0.5 else pixels
