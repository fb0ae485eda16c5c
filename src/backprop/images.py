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

Every input is scaled or refused, never guessed at: ``read_image`` composites transparency,
applies the EXIF orientation, scales 16-bit greys by 65535 and refuses images too large to
read; ``prepare_digit`` refuses an image with no ink; ``pixels`` takes integers of any type
as 8-bit grey levels and refuses values outside them.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .paths import file_problem

__all__ = [
    "MAX_JPEG_PIXELS",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MIN_CONTRAST",
    "MIN_SIDE",
    "WORKING_SIDE",
    "DigitFormat",
    "NoInkError",
    "check_ink",
    "check_size",
    "digit_format",
    "ink_on_black",
    "numbers",
    "pixels",
    "prepare_digit",
    "read_image",
    "shortest",
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
#: The least contrast between the ink and the background (``ink_contrast``, after the background
#: is subtracted, on the scale 0 to 1) that counts as a digit: 0.08, 20 of 255 grey levels.
#: Measured on JPEGs (quality 50 to 95) of 200x200 to 4000x3000 pixels: a blank page with
#: camera noise of 6 levels (standard deviation) reaches 0.061 at most; a 7 drawn 30 levels
#: darker than its paper (a faint pencil) 0.09 at least, and usually 0.11.
MIN_CONTRAST = 0.08
#: The longer side, in pixels, a larger image is reduced to while it is read: 20 times MNIST's
#: 28. A digit a tenth of the picture's height still spans 56 pixels, more than the 20 (or 8)
#: its preparation keeps, and the preparation of the whole then takes milliseconds.
WORKING_SIDE = 560
#: The largest image ``read_image`` reads, in pixels, for formats that must be decoded whole
#: (PNG, BMP, GIF): 64 megapixels, 8000x8000, up to 256 MB decoded (4 bytes a pixel). A 50 MP
#: phone photo or an A4 page scanned at 600 dpi (35 MP) fits.
MAX_PIXELS = 64_000_000
#: The largest JPEG, in pixels: JPEG decodes at 1/2, 1/4 or 1/8 scale (``Image.draft``), so a
#: 178 MP photo costs what a 2.8 MP one does. It is also Pillow's own limit for any image (twice
#: ``Image.MAX_IMAGE_PIXELS``), above which it refuses to open one as a decompression bomb.
MAX_JPEG_PIXELS = 178_000_000


def shortest(value: float) -> str:
    """``value`` in the fewest digits that read back as the same float: ``255``, ``-0.5``, ``1.0000001``.

    For messages about a value that broke a rule: ``{:g}`` would print 1.0000001 as "1".
    """
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


#: What an array of each dtype kind that is not a number holds, for the messages.
_NOT_NUMBERS = {
    "U": "text",
    "S": "bytes",
    "V": "records or raw bytes",
    "c": "complex numbers",
    "O": "Python objects",
    "M": "dates",
    "m": "time spans",
}


def numbers(array: Any, where: str) -> np.ndarray:
    """``array`` as float64 numbers: bool as 0/1, integers and floats as they are.

    Raises ValueError, naming ``where`` and the dtype or the first bad value, for anything
    that is not a real number (strings, bytes, records, complex numbers, objects, dates), an
    empty array, and NaN or infinite values: none of them can be a model's input.
    """
    array = np.asarray(array)
    kind = "V" if array.dtype.names else array.dtype.kind
    if kind not in "biuf":
        raise ValueError(
            f"{where}: holds {_NOT_NUMBERS.get(kind, 'values')} (dtype {array.dtype});"
            " expected real numbers (integers, floats or bool)"
        )
    if array.size == 0:
        raise ValueError(f"{where}: the array is empty (shape {array.shape}); expected at least one sample")
    values = array.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        count = int(bad.sum())
        raise ValueError(
            f"{where}: {count} NaN or infinite value{'s' if count > 1 else ''}, the first"
            f" ({values[first]}) at index {_index(first)}; expected finite numbers"
        )
    return values


def pixels(images: Any, where: str = "the pixel data") -> np.ndarray:
    """Grey levels as floats in [0, 1]: integers of any dtype are 8-bit levels 0..255 (divided by
    255), bool is 0/1, floats are taken as they are.

    Raises ValueError, naming ``where``, the values found and the first one out of range, for
    integers outside 0..255 (a 16-bit or signed image is not 8-bit: dividing it by 255 would be
    a guess), floats outside [0, 1] (saying "divide by 255" when they look like 0..255 levels),
    and whatever ``numbers`` refuses.
    """
    array = np.asarray(images)
    if array.dtype == np.uint8 and array.size:
        return array / 255.0
    if array.dtype.kind in "iu" and array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            first = tuple(int(i) for i in np.argwhere((array < 0) | (array > 255))[0])
            raise ValueError(
                f"{where}: {array.dtype} values from {low} to {high} ({array[first]} at index"
                f" {_index(first)}); integer pixels are 8-bit grey levels from 0 to 255"
            )
        return array / 255.0
    values = numbers(array, where)
    if array.dtype.kind == "f":
        low, high = values.min(), values.max()
        if low < 0 or high > 1:
            first = tuple(int(i) for i in np.argwhere((values < 0) | (values > 1))[0])
            # Levels of 0..255 stored as floats; a maximum under 2 is rather a slip past 1.
            looks_8_bit = low >= 0 and 2 <= high <= 255
            hint = "; they look like 0..255 grey levels: divide by 255, or save as uint8"
            raise ValueError(
                f"{where}: {array.dtype} values from {shortest(low)} to {shortest(high)}"
                f" ({shortest(values[first])} at index {_index(first)}); float pixels must lie in [0, 1]"
                + (hint if looks_8_bit else "")
            )
    return values


def _index(position: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, position)) + "]"


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

    What a file holds is read as the eye sees it:

    - the first frame of an animated or multi-page file;
    - turned upright as its EXIF Orientation tag says (phones store photos sideways);
    - transparency composited (``_composite``): the transparent parts are the paper or the ink,
      whichever the opaque parts are not;
    - 16-bit greys divided by 65535 (Pillow's 8-bit conversion would clip them to white);
    - reduced, by averaging, so that its longer side is at most ``WORKING_SIDE`` (JPEG decoded
      at 1/2, 1/4 or 1/8 scale to begin with), which keeps every detail a 28x28 or 8x8 digit
      needs and bounds the time and memory of the preparation.

    Raises ValueError, naming the file, when it is missing, not a readable image, larger than
    ``MAX_PIXELS`` (``MAX_JPEG_PIXELS`` for JPEG), or smaller than ``MIN_SIDE`` x ``MIN_SIDE``.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    problem = file_problem(path)
    if problem is not None:
        raise ValueError(f"{path}: {problem}")
    with warnings.catch_warnings():
        # Pillow warns from 89 MP on; the limits checked here before decoding decide instead.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except Image.DecompressionBombError as error:
            found = re.search(r"\((\d+) pixels\)", str(error))
            size = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "too many pixels"
            raise ValueError(f"{path}: the image has {size}; {_LIMITS}") from error
        except (OSError, UnidentifiedImageError, SyntaxError, EOFError, ValueError) as error:
            raise ValueError(f"{path}: not a readable image ({error})") from error
        with image:
            _check_pixels(image.size, image.format, path)
            try:
                image.seek(0)
                original_mode = image.mode
                levels, mode = _decode(image)
            except (OSError, SyntaxError, EOFError, ValueError) as error:
                raise ValueError(f"{path}: not a readable image ({error})") from error
    if mode == "RGBA":
        grey = _composite(levels[..., :3] @ _LUMA / 255.0, levels[..., 3] / 255.0)
    elif mode == "L":
        grey = levels / 255.0
    else:
        grey = _wide_levels(levels, original_mode, path)
    return ink_on_black(grey)


#: ITU-R 601 luma, the weights of Pillow's own RGB to "L" conversion.
_LUMA = np.array([0.299, 0.587, 0.114])


_LIMITS = (
    f"backprop reads images up to {MAX_PIXELS // 1_000_000} megapixels"
    f" (JPEG up to {MAX_JPEG_PIXELS // 1_000_000}); scale it down first"
)


def _check_pixels(size: tuple[int, int], kind: str | None, path: Path) -> None:
    """Refuse, before decoding, an image too large to read or too small to hold a digit."""
    width, height = size
    limit = MAX_JPEG_PIXELS if kind in ("JPEG", "MPO") else MAX_PIXELS
    if width * height > limit:
        pixels = f"{width}x{height} pixels ({width * height / 1e6:.0f} megapixels)"
        raise ValueError(f"{path}: the image is {pixels}; {_LIMITS}")
    check_size((height, width), str(path))


def _decode(image: Any) -> tuple[np.ndarray, str]:
    """An open Pillow image's pixels, upright and at most ``WORKING_SIDE`` pixels long, and their mode.

    The mode is "L" (8-bit grey), "RGBA" (anything with transparency), "I" (16-bit grey, as
    32-bit integers) or "F" (floating-point grey).
    """
    from PIL import Image, ImageOps

    width, height = image.size
    # The shorter side stays at least MIN_SIDE, so that a long thin strip keeps its shape.
    scale = min(1.0, max(WORKING_SIDE / max(width, height), MIN_SIDE / min(width, height)))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if image.format in ("JPEG", "MPO") and scale < 1:
        # Decode at the smallest of 1/2, 1/4, 1/8 scale still at least ``size`` (grey only where
        # colour is not needed): a 10000x10000 photo is decoded as 1250x1250.
        image.draft("L" if image.mode in ("RGB", "YCbCr") else image.mode, size)
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if image.mode.startswith("I;16") or image.mode == "I":
        mode = "I"
    elif image.mode == "F":
        mode = "F"
    else:
        mode = "RGBA" if transparent else "L"
    working = image.convert(mode) if image.mode != mode else image
    if working.size != size:
        # BOX averages every source pixel each target pixel covers (alpha premultiplied).
        working = working.resize(size, Image.Resampling.BOX)
    working = ImageOps.exif_transpose(working)  # on the small copy, which keeps the EXIF
    return np.asarray(working), mode


def _wide_levels(levels: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """16-bit (Pillow mode "I;16" or "I") levels divided by 65535; float ("F") ones taken in [0, 1]."""
    levels = levels.astype(np.float64)
    low, high = levels.min(), levels.max()
    if mode == "F":
        if low < 0 or high > 1:
            raise ValueError(
                f"{path}: a floating-point image with values from {shortest(low)} to {shortest(high)};"
                " expected grey levels in [0, 1]"
            )
        return levels
    if low < 0 or high > 65535:
        raise ValueError(
            f"{path}: a {mode} image with levels from {shortest(low)} to {shortest(high)};"
            " expected 16-bit grey levels from 0 to 65535"
        )
    return levels / 65535.0


def _composite(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """An image with opacity ``alpha`` composited over the shade that contrasts with its opaque parts.

    Transparency is either the paper (a digit drawn on a transparent layer, black or white, with
    any colour under the transparent pixels) or the ink (strokes cut out of an opaque sheet).
    Either way the opaque parts are one of the two, so the backdrop is taken as the other: white
    behind dark opaque parts, black behind light ones. The colour under a fully transparent
    pixel, invisible and often black, does not count.
    """
    weight = alpha.sum()
    tone = float((grey * alpha).sum() / weight) if weight > 0 else 1.0
    backdrop = 0.0 if tone > 0.5 else 1.0
    return alpha * grey + (1.0 - alpha) * backdrop


def ink_on_black(grey: np.ndarray) -> np.ndarray:
    """Invert an image whose border is mostly light: the digits the models learn are light on black."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if border.mean() > 0.5 else grey


def ink_contrast(ink: np.ndarray) -> float:
    """How far the ink stands out from the background: the largest mean of ``ink`` over a k x k
    square, k a hundredth of the shorter side (1 below 150 pixels, 4 for a 560x420 photo).

    A stroke is wider than k and keeps its full contrast; the noise of single pixels (a camera's,
    JPEG's) is averaged down k-fold, so that a blank page does not pass for a faint digit.
    """
    k = max(1, round(min(ink.shape) / 100))
    if k > 1:
        total = np.pad(ink, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)
        ink = (total[k:, k:] - total[:-k, k:] - total[k:, :-k] + total[:-k, :-k]) / (k * k)
    return float(ink.max())


class NoInkError(ValueError):
    """An image with no ink: nothing in it stands out from its background (``check_ink``)."""


def check_ink(ink: np.ndarray, where: str) -> None:
    """Refuse an image whose ink (the image less its background) nowhere reaches ``MIN_CONTRAST``.

    A blank page, a one-grey or fully transparent image has no digit to classify; a model
    would still answer, confidently and at random.
    """
    contrast = ink_contrast(ink)
    if contrast < MIN_CONTRAST:
        detail = f": nothing stands out from the background by {MIN_CONTRAST}, the most is {contrast:.3f}"
        raise NoInkError(
            f"{where}: the image has no ink (it is one shade throughout{detail if contrast else ''});"
            " draw or photograph a digit"
        )


def prepare_digit(image: np.ndarray, size: tuple[int, int], *, where: str = "prepare_digit") -> np.ndarray:
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

    Returns float64 ``size`` values in [0, 1]. Raises ValueError, naming ``where``, for an
    image smaller than ``MIN_SIDE`` x ``MIN_SIDE`` and for one without ink (``check_ink``).
    """
    image = np.asarray(image, dtype=np.float64)
    check_size(image.shape, where)
    target = digit_format(size)
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    ink = np.clip(image - np.median(border), 0.0, None)
    check_ink(ink, where)
    field = np.zeros(target.size)
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
