"""Digit images prepared as a model's training images were: read, checked, cropped, scaled, centred.

A drawn or photographed digit is not yet what a digit model has seen. Its training images
were made by a fixed recipe, and an image prepared another way (the whole canvas shrunk, the
digit small in one corner) is a different input, which the model may well misread.

- **MNIST (28x28)**: each digit's bounding box was scaled, keeping its aspect ratio, so that
  its longer side is 20 pixels (anti-aliased, hence grey levels), then placed in a 28x28 field
  with the centre of mass of its pixels at the centre of the field.
- **The 8x8 digits** (UCI optdigits, scikit-learn's ``load_digits``): each digit was scaled to
  fill a 32x32 bitmap (its height is the 8 rows in every one of the 1,797 images, its centre
  of mass within half a pixel of the centre), then the on pixels of each 4x4 block were
  counted, 0..16, which ``datasets.load_digits`` divides by 16. Averaging the pixels of each
  block (area resampling) gives the same scale.

``prepare_digit`` applies the recipe for a model's input size (``DigitFormat``): ink bright on
black with the brightest pixel 1 (as in 98% of the 8x8 digits and in MNIST), the ink's
bounding box scaled so that its longer side is ``box`` pixels, and placed by its centre of
mass. Images are ``(H, W)`` float64 arrays with values in [0, 1].
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "MAX_SIDE",
    "MIN_SIDE",
    "DigitFormat",
    "check_size",
    "digit_format",
    "ink_on_black",
    "pixels",
    "prepare_digit",
    "read_image",
]

#: The smallest image that can hold a digit: the 8x8 digits are the smallest training images.
MIN_SIDE = 8
#: The largest drawing the web page's API takes: ten times MNIST's side.
MAX_SIDE = 280
#: A pixel is ink when it is brighter than this share of the brightest pixel (after the
#: background is subtracted); below it are JPEG noise and the faint edges of anti-aliasing.
INK_THRESHOLD = 0.1
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
#: The ink of an 8x8 digit, the sum of its 64 pixels: 19.5 on average over the 1,797 images,
#: 19.0 to 20.6 per class. Their strokes are thick for their size (a quarter to a third of the
#: bounding box's width); a pen stroke on a large canvas, shrunk to 8 rows, is thinner.
DIGITS_INK = 19.5


def pixels(images: np.ndarray) -> np.ndarray:
    """8-bit images to floats in [0, 1]; floating-point images are taken as they are."""
    return images / 255.0 if images.dtype == np.uint8 else images.astype(np.float64, copy=False)


@dataclass(frozen=True)
class DigitFormat:
    """How the training digits of a model with ``size`` = (H, W) inputs were made.

    ``box`` is the longer side of a digit's bounding box in those images: 20 for MNIST's 28x28,
    8 (the whole height) for the 8x8 digits, and MNIST's ratio 20/28 for other sizes.
    ``centre`` is where the centre of mass of a digit's pixels lies, (row, column): on average
    over MNIST's 10,000 test images (14.0, 14.0), with the pixel centres at 0, 1, ..., 27 (its
    makers rounded ``28 / 2 - centre``), and (3.5, 3.5) over the 8x8 digits. ``ink``, where set,
    is the sum of a training image's pixels, which strokes are thickened to reach.
    """

    size: tuple[int, int]
    box: int
    centre: tuple[float, float]
    name: str
    ink: float | None = None


def digit_format(size: tuple[int, int]) -> DigitFormat:
    """The ``DigitFormat`` of a model whose images are ``size`` = (H, W)."""
    height, width = (int(side) for side in size)
    if (height, width) == (28, 28):
        return DigitFormat(
            (28, 28), 20, (14.0, 14.0), "MNIST: the digit fitted into 20x20, centred by its centre of mass"
        )
    if (height, width) == (8, 8):
        return DigitFormat(
            (8, 8), 8, (3.5, 3.5), "8x8 digits: scaled to fill 8 rows, strokes as thick as theirs", DIGITS_INK
        )
    box = max(1, round(min(height, width) * 20 / 28))
    return DigitFormat(
        (height, width),
        box,
        (height / 2, width / 2),
        f"the digit fitted into {box}x{box}, centred by its centre of mass",
    )


def check_size(shape: tuple[int, ...], where: str) -> None:
    """Refuse an image too small to hold a digit (or not 2-D); ``where`` names it in the message."""
    if len(shape) != 2:
        raise ValueError(f"{where}: expected a 2-D grey image, got an array of shape {tuple(shape)}")
    height, width = shape
    if min(height, width) < MIN_SIDE:
        raise ValueError(
            f"{where}: the image is {width}x{height} pixels, too small to hold a digit;"
            f" the minimum is {MIN_SIDE}x{MIN_SIDE}"
        )


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """The image file ``path`` (PNG, JPEG, BMP, GIF) as ``(H, W)`` grey levels in [0, 1], ink bright.

    Raises ValueError, naming the file, when it is missing, not a readable image or smaller
    than ``MIN_SIDE`` x ``MIN_SIDE``.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"{path}: not a readable image ({error})") from error
    check_size(grey.shape, str(path))
    return ink_on_black(grey)


def ink_on_black(grey: np.ndarray) -> np.ndarray:
    """Invert an image whose border is mostly light: the digits the models learn are light on black."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if border.mean() > 0.5 else grey


def prepare_digit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` (H, W), ink bright in [0, 1], as the training digits of a ``size`` model were made.

    1. Subtract the background (the median of the border) and scale so the brightest pixel is 1.
    2. Crop to the bounding box of the ink (pixels above ``INK_THRESHOLD``).
    3. Resize the crop, keeping its aspect ratio, so its longer side is ``digit_format(size).box``
       (area-averaging when shrinking, as both data sets' anti-aliasing and block counts do).
    4. Scale again so the brightest pixel is 1 (for the 8x8 digits, first thicken the strokes until
       the digit holds as much ink as theirs, ``DIGITS_INK``), and place it in a ``size`` field with its
       centre of mass ``(sum_i i p_i / sum_i p_i)`` where the training digits have theirs
       (``DigitFormat.centre``), to the nearest pixel, moved as little as needed to keep it
       inside the field.

    An image without ink gives a black field. Returns float64 ``size`` values in [0, 1].
    """
    image = np.asarray(image, dtype=np.float64)
    check_size(image.shape, "prepare_digit")
    target = digit_format(size)
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    ink = np.clip(image - np.median(border), 0.0, None)
    field = np.zeros(target.size)
    if ink.max() <= 0:
        return field
    ink /= ink.max()
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = _fit(crop, target)
    height, width = digit.shape
    mass = digit.sum()
    centre_y = (digit.sum(axis=1) @ np.arange(height)) / mass
    centre_x = (digit.sum(axis=0) @ np.arange(width)) / mass
    top = _offset(target.centre[0] - centre_y, height, target.size[0])
    left = _offset(target.centre[1] - centre_x, width, target.size[1])
    field[top : top + height, left : left + width] = digit
    return np.clip(field, 0.0, 1.0)


def _fit(crop: np.ndarray, target: DigitFormat) -> np.ndarray:
    """``crop`` resized to ``target.box``, brightest pixel 1, its strokes thickened toward ``target.ink``.

    Thickening dilates the crop (each pixel the maximum of its neighbourhood) by steps of a
    32nd of the box at the crop's resolution, one pixel of the 32x32 bitmaps the 8x8 digits
    were counted from, and keeps the step whose resized digit's ink is nearest ``target.ink``.
    A crop no finer than those bitmaps (an 8x8 digit itself) is not thickened: one step
    would be coarser than theirs.
    """
    digit = _unit_max(_resize_longer_side(crop, target.box))
    step = round(max(crop.shape) / (4 * target.box))
    if target.ink is None or step < 1:
        return digit
    for _ in range(4 * target.box):
        if digit.sum() >= target.ink:
            break
        crop = _dilate(crop, step)
        thicker = _unit_max(_resize_longer_side(crop, target.box))
        if thicker.sum() - target.ink > target.ink - digit.sum():
            break
        digit = thicker
    return digit


def _unit_max(image: np.ndarray) -> np.ndarray:
    return image / max(image.max(), np.finfo(np.float64).tiny)


def _dilate(image: np.ndarray, radius: int) -> np.ndarray:
    """The grey dilation of ``image`` by a (2 radius + 1) square, padded by ``radius`` on each side."""
    padded = np.pad(image, radius)
    rows = padded.copy()
    for shift in range(1, radius + 1):
        rows[shift:] = np.maximum(rows[shift:], padded[:-shift])
        rows[:-shift] = np.maximum(rows[:-shift], padded[shift:])
    grown = rows.copy()
    for shift in range(1, radius + 1):
        grown[:, shift:] = np.maximum(grown[:, shift:], rows[:, :-shift])
        grown[:, :-shift] = np.maximum(grown[:, :-shift], rows[:, shift:])
    return grown


def _resize_longer_side(crop: np.ndarray, box: int) -> np.ndarray:
    """``crop`` resized so that its longer side is ``box``, the aspect ratio kept (at least 1 pixel)."""
    from PIL import Image

    height, width = crop.shape
    scale = box / max(height, width)
    new_height, new_width = max(1, round(height * scale)), max(1, round(width * scale))
    # Pillow's float ("F") images keep the grey levels exact; BOX averages the source pixels
    # each target pixel covers, BILINEAR interpolates when enlarging a small drawing.
    resampling = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(crop.astype(np.float32)).resize((new_width, new_height), resampling)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, None)


def _offset(shift: float, extent: int, field: int) -> int:
    """Where a piece of ``extent`` pixels starts in a ``field`` when moved by ``shift``, kept inside."""
    return min(max(math.floor(shift + 0.5), 0), field - extent)
