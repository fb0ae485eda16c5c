"""backprop.images: digit images prepared as MNIST and the 8x8 digits were made."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_MNIST, needs_shared_mnist

import backprop as bp
from backprop import images


def stroke_image(height: int, width: int, top: int, left: int, size: int) -> np.ndarray:
    """A '7'-like stroke figure of ``size`` pixels at (top, left) on a black height x width canvas."""
    canvas = np.zeros((height, width))
    thick = max(2, size // 8)
    canvas[top : top + thick, left : left + size * 3 // 4] = 1.0  # the bar
    for row in range(size):  # the diagonal, from the bar's right end down to the left
        column = left + size * 3 // 4 - (row * size // 2) // size
        canvas[top + row, column - thick : column] = 1.0
    return canvas


def ink_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero((image > images.INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((image > images.INK_THRESHOLD).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    mass = image.sum()
    return (image.sum(axis=1) @ np.arange(image.shape[0]) / mass,
            image.sum(axis=0) @ np.arange(image.shape[1]) / mass)


def test_mnist_preparation_fits_the_longer_side_into_20_and_centres_the_mass():
    digit = images.prepare_digit(stroke_image(200, 300, 150, 10, 45), (28, 28))
    assert digit.shape == (28, 28) and digit.max() == 1.0 and digit.min() >= 0
    height, width = ink_box(digit)
    assert max(height, width) in (20, 21)  # 20 pixels, plus a faint anti-aliased edge at most
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_the_same_digit_anywhere_on_any_canvas_gives_nearly_the_same_input():
    small = images.prepare_digit(stroke_image(100, 100, 5, 50, 40), (28, 28))
    large = images.prepare_digit(stroke_image(280, 200, 100, 20, 160), (28, 28))
    assert np.abs(small - large).mean() < 0.05
    # The old way, the whole canvas shrunk to 28x28, gives a different image altogether.
    assert np.abs(small - images.prepare_digit(np.pad(stroke_image(100, 100, 5, 50, 40), 1), (28, 28))).max() < 0.3


def test_the_8x8_preparation_fills_the_rows_and_has_the_training_digits_ink():
    digit = images.prepare_digit(stroke_image(200, 200, 10, 30, 170), (8, 8))
    assert digit.shape == (8, 8) and digit.max() == 1.0
    assert ink_box(digit)[0] == 8
    # Strokes a ninth of the digit's height (thinner than the digits') are thickened to their ink.
    assert abs(digit.sum() - images.DIGITS_INK) < 0.1 * images.DIGITS_INK
    # The recorded target is what the data hold: the mean sum of an 8x8 digit's pixels.
    x, _ = bp.datasets.load_digits(dtype=np.float64)
    assert abs(x.sum(axis=(1, 2, 3)).mean() - images.DIGITS_INK) < 0.05


def test_the_8x8_digits_themselves_come_back_nearly_as_they_were():
    """Most come back identical; a model reads the prepared ones as well as the originals."""
    x, labels = bp.datasets.load_digits(dtype=np.float64)
    prepared = np.stack([images.prepare_digit(sample[0], (8, 8)) for sample in x])[:, None]
    assert np.mean(np.abs(prepared - x).max(axis=(1, 2, 3)) < 1e-6) > 0.7
    model = bp.Sequential(bp.Flatten(), bp.Linear(64, 64, rng=0), bp.ReLU(), bp.Linear(64, 10, rng=1))
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1, momentum=0.9), x[:1400], labels[:1400],
           epochs=20, seed=0, progress=False)
    raw = np.mean(bp.predict(model, x[1400:]).argmax(axis=1) == labels[1400:])
    again = np.mean(bp.predict(model, prepared[1400:]).argmax(axis=1) == labels[1400:])
    assert raw > 0.85 and again >= raw - 0.02, (raw, again)


@needs_shared_mnist
def test_mnist_images_themselves_come_back_nearly_unchanged():
    """MNIST's own images already are what the preparation makes: most come back identical."""
    x, _ = bp.datasets.load_mnist(SHARED_MNIST, "test")
    x = x[:300] / 255.0
    prepared = np.stack([images.prepare_digit(sample, (28, 28)) for sample in x])
    assert np.abs(prepared - x).mean() < 0.002
    assert np.mean(np.abs(prepared - x).max(axis=(1, 2)) < 1e-6) > 0.6


@pytest.mark.parametrize("level", [0.0, 0.3, 1.0])
def test_an_image_without_ink_is_refused_naming_it(level):
    """A blank field used to come back black, and the model answered it confidently at random."""
    with pytest.raises(images.NoInkError, match=r"^blank\.png: the image has no ink \(it is one shade throughout\);"
                                                r" draw or photograph a digit$"):
        images.prepare_digit(np.full((50, 50), level), (28, 28), where="blank.png")


def test_ink_is_what_stands_out_from_the_background_by_min_contrast():
    faint = np.zeros((40, 40))
    faint[10:30, 18:22] = images.MIN_CONTRAST * 0.9
    with pytest.raises(images.NoInkError, match=r"nothing stands out from the background by 0.08, the most is 0.072"):
        images.prepare_digit(faint, (28, 28))
    faint[10:30, 18:22] = images.MIN_CONTRAST * 1.1
    assert images.prepare_digit(faint, (28, 28)).max() == 1.0
    # Single noisy pixels are averaged over k x k (k = 3 here) before they count.
    speckled = np.zeros((300, 300))
    speckled[::7, ::7] = 0.2
    assert images.ink_contrast(speckled) < images.MIN_CONTRAST


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[0, 51, 255]], np.uint8), [[0, 0.2, 1]]),
        (np.array([[0, 51, 255]], np.int32), [[0, 0.2, 1]]),
        (np.array([[0, 51, 255]], np.uint64), [[0, 0.2, 1]]),
        (np.array([[0, 51, 255]], ">i2"), [[0, 0.2, 1]]),
        (np.array([[False, True]]), [[0, 1]]),
        (np.array([[0, 0.5, 1]], np.float32), [[0, 0.5, 1]]),
    ],
)
def test_pixels_scales_every_integer_dtype_as_8_bit_levels(array, expected):
    np.testing.assert_allclose(images.pixels(array), expected)
    assert images.pixels(array).dtype == np.float64


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[0, 256]], np.int32), r"^x: int32 values from 0 to 256 \(256 at index \[0, 1\]\)"),
        (np.array([[-1, 3]], np.int64), r"^x: int64 values from -1 to 3 \(-1 at index \[0, 0\]\)"),
        (np.array([[0.0, 200.0]]), r"divide by 255, or save as uint8$"),
        (np.array([[0.0, np.nan]]), r"^x: 1 NaN or infinite value, the first \(nan\) at index \[0, 1\]"),
        (np.array([["a"]]), r"^x: holds text \(dtype <U1\)"),
        (np.zeros((0, 28, 28), np.uint8), r"^x: the array is empty"),
    ],
)
def test_pixels_refuses_what_is_not_8_bit_levels_or_in_0_1(array, message):
    with pytest.raises(ValueError, match=message):
        images.pixels(array, where="x")


@pytest.mark.parametrize("shape", [(1, 1), (7, 30), (30, 7)])
def test_images_too_small_to_hold_a_digit_are_refused(shape):
    with pytest.raises(ValueError, match=rf"the image is {shape[1]}x{shape[0]} pixels, too small to hold a digit; "
                                         r"the minimum is 8x8"):
        images.prepare_digit(np.ones(shape), (28, 28))


def test_read_image_inverts_a_light_background_and_names_bad_files(tmp_path):
    from PIL import Image

    picture = np.full((40, 30), 255, np.uint8)
    picture[10:30, 12:16] = 0
    Image.fromarray(picture).save(tmp_path / "one.png")
    grey = images.read_image(tmp_path / "one.png")
    assert grey.shape == (40, 30) and grey[20, 13] == 1.0 and grey[0, 0] == 0.0
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"bad\.png: not a readable image"):
        images.read_image(tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"missing\.png: no such file"):
        images.read_image(tmp_path / "missing.png")
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(tmp_path / "dot.png")
    with pytest.raises(ValueError, match=r"dot\.png: the image is 1x1 pixels"):
        images.read_image(tmp_path / "dot.png")
