"""Issue 18: images read as the eye sees them, or refused; each through `backprop predict` as a user types it.

Transparency (5), blank images (5), EXIF orientation (6), huge images and decompression bombs,
16-bit greys and multi-frame files (9). The model is one of the 8x8 digits written with
``bp.save``, which reads the thick black 7 these tests draw as a 7.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_ok, cli_user_error
from PIL import Image, ImageDraw, ImageFilter

from backprop import images
from backprop.cli import main


def labels_of(stdout: str) -> dict[str, str]:
    """``{file name: "7"}`` from predict's lines ``PATH: 7 (0.993)``."""
    return {Path(line.rsplit(": ", 1)[0]).name: line.rsplit(": ", 1)[1].split(" ")[0] for line in stdout.splitlines()}


def seven_strokes(size: tuple[int, int] = (200, 200)) -> Image.Image:
    """Where the ink of a thick 7 is on a ``size`` canvas: a mask, 255 for ink, 0 for paper."""
    width, height = size
    scale = min(width, height) / 200
    left, top = (width - 200 * scale) / 2, (height - 200 * scale) / 2
    mask = Image.new("L", size, 0)
    pen = ImageDraw.Draw(mask)
    points = [(45, 40), (155, 40), (85, 170)]
    corners = [(left + x * scale, top + y * scale) for x, y in points]
    pen.line(corners, fill=255, width=max(1, round(18 * scale)), joint="curve")
    return mask


def black_seven_on_white(size: tuple[int, int] = (200, 200)) -> Image.Image:
    return Image.eval(seven_strokes(size), lambda v: 255 - v)


@pytest.fixture(scope="module")
def model(saved_digits_model):
    """The 8x8 digits' model of conftest, written by ``bp.save``: it reads the thick black 7 as a 7."""
    return saved_digits_model


def transparent_sevens(folder: Path) -> list[Path]:
    """The 7 as drawing programs export it with transparency, each file a different way."""
    ink = seven_strokes()
    paper = Image.eval(ink, lambda v: 255 - v)
    black, white = Image.new("L", ink.size, 0), Image.new("L", ink.size, 255)
    files = {
        # dark strokes on transparent paper, black under the transparency: the "8 (0.123)"
        "dark-on-clear-black-under.png": Image.merge("RGBA", (black, black, black, ink)),
        "dark-on-clear-white-under.png": Image.merge("RGBA", (paper, paper, paper, ink)),
        "dark-on-clear-grey-alpha.png": Image.merge("LA", (black, ink)),
        # light strokes on transparent paper
        "light-on-clear-white-under.png": Image.merge("RGBA", (white, white, white, ink)),
        "light-on-clear-black-under.png": Image.merge("RGBA", (ink, ink, ink, ink)),
        # opaque paper with the strokes cut out of it: only the alpha shows them
        "cut-out-of-white.png": Image.merge("RGBA", (white, white, white, paper)),
        "cut-out-of-black.png": Image.merge("RGBA", (black, black, black, paper)),
    }
    paths = [_save(picture, folder / name) for name, picture in files.items()]
    # A palette image whose paper is a transparent palette entry (GIF's and small PNGs' way).
    palette = Image.new("P", ink.size, 0)
    palette.putpalette([0, 0, 0, 0, 0, 0])  # black paper under the transparency, black ink
    palette.paste(1, mask=ink)
    for name in ("palette.gif", "palette.png"):
        palette.save(folder / name, transparency=0)
        paths.append(folder / name)
    # An RGB image whose black paper is marked transparent (PNG's tRNS chunk), ink white.
    paths.append(folder / "rgb-trns.png")
    Image.merge("RGB", (ink, ink, ink)).save(paths[-1], transparency=(0, 0, 0))
    return paths


@pytest.mark.slow
def test_transparent_drawings_are_read_as_the_digit(model, tmp_path):
    paths = transparent_sevens(tmp_path)
    assert labels_of(cli_ok("predict", model, *paths).stdout) == {path.name: "7" for path in paths}
    upright = images.prepare_digit(images.read_image(_save(black_seven_on_white(), tmp_path / "7.png")), (28, 28))
    for path in paths:
        prepared = images.prepare_digit(images.read_image(path), (28, 28))
        assert np.abs(prepared - upright).max() < 0.02, path.name


def test_the_colour_under_transparent_pixels_does_not_count(tmp_path):
    """Half-transparent edges over black are composited, not read as black."""
    ink = seven_strokes().filter(ImageFilter.GaussianBlur(2))
    clear = Image.new("L", ink.size, 0)
    _save(Image.merge("RGBA", (clear, clear, clear, ink)), tmp_path / "soft.png")
    grey = images.read_image(tmp_path / "soft.png")
    np.testing.assert_allclose(grey, np.asarray(ink) / 255.0, atol=1 / 255)


@pytest.mark.parametrize(
    "picture",
    [
        Image.new("L", (100, 80), 255),
        Image.new("L", (100, 80), 0),
        Image.new("L", (100, 80), 128),
        Image.new("RGBA", (100, 80), (255, 255, 255, 0)),
        Image.new("RGB", (100, 80), (30, 200, 90)),
    ],
    ids=["white", "black", "grey", "transparent-white", "one-colour"],
)
def test_an_image_with_no_ink_is_refused(model, tmp_path, capsys, picture):
    """Through ``backprop.cli.main`` in this process: the same code as the command, without its start-up."""
    _save(picture, tmp_path / "blank.png")
    status = main(["predict", str(model), str(tmp_path / "blank.png")])
    assert (status, capsys.readouterr().err) == (2, (
        f"backprop: error: {tmp_path / 'blank.png'}: the image has no ink (it is one shade throughout);"
        " draw or photograph a digit\n"))


@pytest.mark.slow
def test_a_fully_transparent_image_is_refused_by_the_command(model, tmp_path):
    """The issue's case, through `backprop predict` as a subprocess: it used to answer with exit status 0."""
    _save(Image.new("RGBA", (100, 80), (0, 0, 0, 0)), tmp_path / "clear.png")
    assert cli_user_error("predict", model, tmp_path / "clear.png") == (
        f"backprop: error: {tmp_path / 'clear.png'}: the image has no ink (it is one shade throughout);"
        " draw or photograph a digit\n")


def pencil_page(size: tuple[int, int], darker_by: int, noise: float, seed: int) -> np.ndarray:
    """A photographed page, 235 grey with camera noise (``noise`` levels), a 7 ``darker_by`` levels darker."""
    strokes = np.asarray(seven_strokes(size).filter(ImageFilter.GaussianBlur(1)), np.float64) / 255.0
    page = 235.0 - darker_by * strokes + np.random.default_rng(seed).normal(0, noise, (size[1], size[0]))
    return np.clip(page, 0, 255).round().astype(np.uint8)


@pytest.mark.slow
def test_a_faint_pencil_digit_passes_and_a_noisy_blank_page_does_not(model, tmp_path):
    """The ink threshold sits between the two: a 7 just 30 grey levels darker than the paper (12%) is
    ink, the noise of a blank page (sigma 4 levels, through JPEG at three qualities) is not."""
    for quality in (50, 75, 95):
        for name, darker_by in (("pencil", 30), ("blank", 0)):
            page = Image.fromarray(pencil_page((400, 300), darker_by, 4, quality))
            page.save(tmp_path / f"{name}{quality}.jpg", quality=quality)
        faint = _contrast(images.read_image(tmp_path / f"pencil{quality}.jpg"))
        blank = _contrast(images.read_image(tmp_path / f"blank{quality}.jpg"))
        assert blank < images.MIN_CONTRAST / 2 < images.MIN_CONTRAST < faint, (quality, blank, faint)
    assert "blank75.jpg: the image has no ink" in cli_user_error("predict", model, tmp_path / "blank75.jpg")
    # The noisy faint page is answered, not refused (prepare_digit's crop reads its noise as ink, though);
    # the same faint 7 on a clean page is read right.
    Image.fromarray(pencil_page((400, 300), 30, 0, 0)).save(tmp_path / "clean.jpg", quality=75)
    answers = labels_of(cli_ok("predict", model, tmp_path / "pencil75.jpg", tmp_path / "clean.jpg").stdout)
    assert answers["pencil75.jpg"].isdigit() and answers["clean.jpg"] == "7"


def _contrast(grey: np.ndarray) -> float:
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return images.ink_contrast(np.clip(grey - np.median(border), 0, None))


#: How a camera stores an upright picture for each EXIF orientation: the inverse of the transposition
#: that ``ImageOps.exif_transpose`` applies to turn it upright.
STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.slow
def test_every_exif_orientation_gives_the_upright_digit(model, tmp_path):
    """A phone stores a photo sideways and says so in EXIF; all eight orientations read as the upright 7."""
    upright = black_seven_on_white((300, 200)).convert("RGB")
    upright.save(tmp_path / "upright.jpg", quality=90)
    reference = images.prepare_digit(images.read_image(tmp_path / "upright.jpg"), (28, 28))
    paths = []
    for orientation, stored in STORED.items():
        picture = upright if stored is None else upright.transpose(stored)
        exif = Image.Exif()
        exif[0x0112] = orientation
        paths.append(tmp_path / f"orientation{orientation}.jpg")
        picture.save(paths[-1], quality=90, exif=exif)
        prepared = images.prepare_digit(images.read_image(paths[-1]), (28, 28))
        assert np.abs(prepared - reference).mean() < 0.01, orientation  # JPEG's noise, not a turned 7
    assert labels_of(cli_ok("predict", model, *paths).stdout) == {path.name: "7" for path in paths}


@pytest.mark.slow
def test_16_bit_greys_are_scaled_by_65535(model, tmp_path):
    """A 16-bit scan (paper 60000, ink 12000): 8-bit conversion clipped both to white, a blank page."""
    strokes = np.asarray(seven_strokes(), np.float64) / 255.0
    levels = (60000 - 48000 * strokes).round().astype(np.uint16)
    Image.fromarray(levels).save(tmp_path / "scan16.png")
    with Image.open(tmp_path / "scan16.png") as reopened:
        assert reopened.mode.startswith("I")
    np.testing.assert_allclose(images.read_image(tmp_path / "scan16.png"), 1 - levels / 65535.0, atol=1e-12)
    assert labels_of(cli_ok("predict", model, tmp_path / "scan16.png").stdout) == {"scan16.png": "7"}


@pytest.mark.slow
def test_the_first_frame_of_an_animation_is_read(model, tmp_path):
    one = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(one).line([(100, 30), (100, 170)], fill=0, width=18)
    seven = black_seven_on_white()
    seven.convert("P").save(tmp_path / "frames.gif", save_all=True, append_images=[one.convert("P")], duration=100)
    seven.save(tmp_path / "frames.png", save_all=True, append_images=[one], duration=100)
    with Image.open(tmp_path / "frames.gif") as gif:
        assert gif.n_frames == 2
    assert labels_of(cli_ok("predict", model, tmp_path / "frames.gif", tmp_path / "frames.png").stdout) == {
        "frames.gif": "7", "frames.png": "7"}


# Large images: generated once for the module; they compress to a few hundred kilobytes.


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """A 10000x10000 JPEG (100 MP, over the PNG limit, under JPEG's), a 8000x6000 PNG and their
    copies downscaled to the working size as a user would (Pillow's thumbnail)."""
    folder = tmp_path_factory.mktemp("large")
    jpeg = black_seven_on_white((10000, 10000))
    jpeg.save(folder / "large.jpg", quality=85)
    small = jpeg.copy()
    small.thumbnail((images.WORKING_SIDE, images.WORKING_SIDE), Image.Resampling.BOX)
    small.save(folder / "small-jpeg.png")
    png = black_seven_on_white((8000, 6000))
    png.save(folder / "large.png")
    png.thumbnail((images.WORKING_SIDE, images.WORKING_SIDE), Image.Resampling.BOX)
    png.save(folder / "small-png.png")
    return folder


@pytest.mark.slow
def test_a_large_image_gives_the_answer_of_its_downscaled_copy(model, large):
    stdout = cli_ok("predict", model, large / "large.jpg", large / "small-jpeg.png", large / "large.png",
                    large / "small-png.png").stdout
    lines = {name: label for name, label in (line.rsplit(": ", 1) for line in stdout.splitlines())}
    answers = {Path(name).name: label for name, label in lines.items()}
    assert answers["large.jpg"].startswith("7 (") and answers["large.png"].startswith("7 (")
    # The same class and nearly the same probability as the downscaled copy.
    for big, small in (("large.jpg", "small-jpeg.png"), ("large.png", "small-png.png")):
        assert answers[big].split(" ")[0] == answers[small].split(" ")[0]
        assert abs(float(answers[big].split("(")[1][:-1]) - float(answers[small].split("(")[1][:-1])) < 0.02
    for big, small in (("large.jpg", "small-jpeg.png"), ("large.png", "small-png.png")):
        read = images.read_image(large / big)
        assert max(read.shape) <= images.WORKING_SIDE  # read small: time and memory bounded
        for size in ((28, 28), (8, 8)):
            difference = images.prepare_digit(read, size) - images.prepare_digit(images.read_image(large / small), size)
            assert np.abs(difference).mean() < 0.01, (big, size)


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` grey pixels and holds one row: what a bomb's reader sees first."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    idat = zlib.compress(b"\0" * (width + 1))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def jpeg_declaring(path: Path, width: int, height: int) -> Path:
    """A small JPEG whose frame header is rewritten to declare ``width`` x ``height`` pixels."""
    Image.new("L", (16, 16), 255).save(path, quality=90)
    data = bytearray(path.read_bytes())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "width", "height", "megapixels"),
    [
        ("over-the-png-limit.png", 9000, 9000, 81),  # under Pillow's warning; our limit refuses it
        ("pillow-warns.png", 12000, 12000, 144),  # Pillow warns (89 MP): the warning must not show
        ("bomb.png", 40000, 40000, 1600),  # Pillow refuses it (179 MP): no traceback
        ("bomb.jpg", 15000, 15000, 225),  # over JPEG's limit too
    ],
)
def test_absurdly_large_images_are_refused_in_one_line(model, tmp_path, name, width, height, megapixels):
    path = tmp_path / name
    jpeg_declaring(path, width, height) if name.endswith(".jpg") else png_header(path, width, height)
    message = cli_user_error("predict", model, path)
    assert f"{path}: " in message and f"{megapixels} megapixels" in message
    assert message.endswith(
        f"backprop reads images up to {images.MAX_PIXELS // 10**6} megapixels (JPEG up to"
        f" {images.MAX_JPEG_PIXELS // 10**6}); scale it down first\n")


def _save(picture: Image.Image, path: Path) -> Path:
    picture.save(path)
    return path
