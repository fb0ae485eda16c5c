"""Issue 18, item 7: `.npy` inputs scaled by the model's rules or refused, never guessed at.

A model of pixels (the digits, MNIST, IDX data, or a ``bp.save`` file of images) takes every
integer dtype as 8-bit levels 0..255, bool as 0/1 and floats within [0, 1]; a model of CSV
features takes any finite real numbers. Each rule is checked once through `backprop predict`
as a real subprocess and, for the whole matrix of dtypes, through ``backprop.cli.main`` in
this process (the same code from the argument parser to the exit status, without a Python
start-up per file). IDX image files of other integer types go through the same ``pixels``.
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from conftest import cli_ok, cli_user_error

import backprop as bp
from backprop.cli import main


def in_process(capsys, *args) -> tuple[int, str, str]:
    """``backprop ARGS`` through ``backprop.cli.main``: (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


def refused(capsys, *args) -> str:
    status, out, err = in_process(capsys, *args)
    assert status == 2 and out == "" and err.count("\n") == 1 and err.startswith("backprop: error:"), (out, err)
    return err


@pytest.fixture(scope="module")
def pixels_model(tmp_path_factory):
    """A model of the 8x8 digits written by ``bp.save`` (no record), and a digit it is unsure of.

    The digit's probabilities are far from 0 and 1, so that feeding it 255 times too bright (the
    old reading of an int64 array) changes the printed answer.
    """
    folder = tmp_path_factory.mktemp("pixels")
    x, labels = bp.datasets.load_digits()
    model = bp.Sequential(bp.Flatten(), bp.Linear(64, 32, rng=0), bp.ReLU(), bp.Linear(32, 10, rng=1))
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1, momentum=0.9), x, labels, epochs=3, seed=0,
           progress=False)
    bp.save(model, folder / "digits.safetensors")
    levels = np.round(x[:, 0] * 16).astype(np.uint8) * 15  # the 8x8 digits' own 0..16 counts, as 0..240
    confidence = bp.predict(model, (levels / 255.0)[:, None].astype(np.float32)).max(axis=1)
    unsure = int(np.argmin(np.abs(confidence - 0.6)))
    assert confidence[unsure] < 0.8
    return folder / "digits.safetensors", levels[unsure]


@pytest.fixture(scope="module")
def features_model(tmp_path_factory):
    """A run of `backprop train` on a CSV of 64 integer features (0..16): its record standardises them."""
    folder = tmp_path_factory.mktemp("features")
    x, labels = bp.datasets.load_digits(dtype=np.float64)
    counts = np.round(x.reshape(len(x), 64) * 16).astype(np.int64)
    header = ",".join([*(f"p{i}" for i in range(64)), "digit"])
    np.savetxt(folder / "digits.csv", np.column_stack([counts, labels]), delimiter=",", header=header, comments="",
               fmt="%d")
    cli_ok("train", "--dataset", f"csv:{folder / 'digits.csv'}", "--target", "digit", "--epochs", "1", "--no-plots",
           "--quiet", "--out", folder / "run", cwd=folder)
    return folder / "run", counts[:5]


@pytest.mark.slow
def test_every_integer_dtype_is_read_as_8_bit_levels(pixels_model, tmp_path, capsys):
    model, levels = pixels_model
    files = {"uint8": levels.astype(np.uint8)}
    for dtype in ("int16", "int32", "int64", "uint16", "uint32", "uint64", ">i4"):
        files[dtype] = levels.astype(dtype)
    files["float64"] = levels / 255.0
    files["float32"] = (levels / 255.0).astype(np.float32)
    for name, array in files.items():
        np.save(tmp_path / f"{name.replace('>', 'big-')}.npy", array)
    paths = sorted(tmp_path.glob("*.npy"))
    stdout = cli_ok("predict", model, "--top", "3", *paths).stdout
    answers = {line.split(": ")[0]: line.split(": ")[1] for line in stdout.splitlines()}
    assert len(set(answers.values())) == 1, answers  # one answer, whatever the integer dtype
    # int64 used to be fed as floats 0..255: a different, over-confident answer.
    bright = bp.predict(bp.load(model), levels.astype(np.float32)[None, None]).max()
    assert f"({bright:.3f})" not in answers[str(tmp_path / "int64.npy")]

    # bool is 0/1, like the floats 0.0 and 1.0
    np.save(tmp_path / "bool.npy", levels > 100)
    np.save(tmp_path / "ones.npy", (levels > 100).astype(np.float64))
    _, out, _ = in_process(capsys, "predict", model, "--top", "3", tmp_path / "bool.npy", tmp_path / "ones.npy")
    first, second = (line.split(": ")[1] for line in out.splitlines())
    assert first == second


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.full((8, 8), 937, np.int16), r"int16 values from 937 to 937 \(937 at index \[0, 0\]\); integer pixels"
                                         r" are 8-bit grey levels from 0 to 255"),
        (np.arange(-32, 32, dtype=np.int8).reshape(8, 8), r"int8 values from -32 to 31 \(-32 at index \[0, 0\]\)"),
        (np.full((8, 8), 65535, np.uint16), r"uint16 values from 65535 to 65535"),
        (np.linspace(0, 255, 64).reshape(8, 8), r"float64 values from 0 to 255 \(4.04761904761904\d* at index"
                                                r" \[0, 1\]\); float pixels must lie in \[0, 1\]; they look like 0..255"
                                                r" grey levels: divide by 255, or save as uint8"),
        (np.linspace(-0.5, 2, 64).reshape(8, 8), r"float64 values from -0.5 to 2 \(-0.5 at index \[0, 0\]\);"
                                                 r" float pixels must lie in \[0, 1\]\n"),
        (np.eye(8) * 1.0000001, r"float64 values from 0 to 1.0000001 \(1.0000001 at index \[0, 0\]\); float pixels must"
                                r" lie in \[0, 1\]\n"),
        (np.eye(8, dtype=np.float32) * np.float32(1.0000001), r"float32 values from 0 to 1.00000011920928\d*"),
    ],
    ids=["int16-high", "int8-negative", "uint16", "floats-0-255", "floats-beyond", "just-over-1", "float32-over-1"],
)
def test_pixels_out_of_range_are_refused_naming_the_range(pixels_model, tmp_path, capsys, array, message):
    model, _ = pixels_model
    np.save(tmp_path / "x.npy", array)
    assert re.search(rf"{tmp_path / 'x.npy'}: {message}", refused(capsys, "predict", model, tmp_path / "x.npy"))


def _structured() -> np.ndarray:
    return np.zeros((8, 8), dtype=[("grey", "f4"), ("alpha", "f4")])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: np.where(np.eye(8) > 0, np.nan, 0.5), r"8 NaN or infinite values, the first \(nan\) at index \[0, 0\];"
                                                       r" expected finite numbers"),
        (lambda: np.pad(np.full((1, 1), np.inf), ((3, 4), (5, 2))), r"1 NaN or infinite value, the first \(inf\) at"
                                                                    r" index \[3, 5\]"),
        (lambda: np.full((8, 8), "0.5"), r"holds text \(dtype <U3\); expected real numbers"),
        (lambda: np.full((8, 8), b"0.5"), r"holds bytes \(dtype \|S3\)"),
        (_structured, r"holds records or raw bytes \(dtype \[\('grey', '<f4'\), \('alpha', '<f4'\)\]\)"),
        (lambda: np.full((8, 8), 0.5 + 0j), r"holds complex numbers \(dtype complex128\)"),
        (lambda: np.zeros((8, 8), "datetime64[s]"), r"holds dates \(dtype datetime64\[s\]\)"),
        (lambda: np.zeros((8, 8), "timedelta64[s]"), r"holds time spans \(dtype timedelta64\[s\]\)"),
        (lambda: np.zeros((0, 8, 8)), r"the array is empty \(shape \(0, 8, 8\)\); expected at least one sample"),
        (lambda: np.zeros((8, 0)), r"the array is empty \(shape \(8, 0\)\)"),
    ],
    ids=["nan", "inf", "strings", "bytes", "structured", "complex", "datetime", "timedelta", "empty-batch", "empty"],
)
def test_what_is_not_a_number_is_refused_naming_the_file(pixels_model, features_model, tmp_path, capsys, make,
                                                         message):
    np.save(tmp_path / "x.npy", make())
    for model in (pixels_model[0], features_model[0]):
        assert re.search(rf"{tmp_path / 'x.npy'}: {message}", refused(capsys, "predict", model, tmp_path / "x.npy"))


def test_files_that_are_not_plain_npy_arrays_are_refused(pixels_model, tmp_path, capsys):
    model, levels = pixels_model
    np.save(tmp_path / "objects.npy", np.full((8, 8), None, dtype=object), allow_pickle=True)
    assert "objects.npy: holds an array of Python objects, which backprop does not read (no pickle)" in refused(
        capsys, "predict", model, tmp_path / "objects.npy")
    (tmp_path / "pickle.npy").write_bytes(pickle.dumps(levels))
    assert "pickle.npy: holds pickled data, which backprop does not read" in refused(
        capsys, "predict", model, tmp_path / "pickle.npy")
    with open(tmp_path / "archive.npy", "wb") as file:  # np.savez under a .npy name
        np.savez(file, digit=levels)
    assert "archive.npy: is a .npz archive (of digit), not a .npy array" in refused(
        capsys, "predict", model, tmp_path / "archive.npy")
    with open(tmp_path / "liar.npy", "wb") as file:  # a header promising 8 TB, ten bytes of data
        np.lib.format.write_array_header_1_0(file, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
        file.write(b"\0" * 10)
    assert "liar.npy: not a readable .npy array (its header promises more data than the file holds)" in refused(
        capsys, "predict", model, tmp_path / "liar.npy")


@pytest.mark.slow
def test_each_rule_through_the_real_command(pixels_model, tmp_path):
    """One file per rule through `backprop predict` as a subprocess: one line, exit status 2."""
    model, levels = pixels_model
    cases = {
        "wide.npy": (levels.astype(np.int32) * 4, "int32 values from 0 to 960"),
        "levels.npy": (levels.astype(np.float32), "float32 values from 0 to 240 (30 at index [0, 2]); float pixels"
                                                  " must lie in [0, 1]; they look like 0..255 grey levels: divide by"
                                                  " 255, or save as uint8"),
        "nan.npy": (np.where(levels > 100, np.nan, 0.0), f"{np.sum(levels > 100)} NaN or infinite values, the first"
                                                         f" (nan) at index [{', '.join(map(str, np.argwhere(levels > 100)[0]))}];"
                                                         " expected finite numbers"),
        "text.npy": (levels.astype(str), "holds text (dtype <U3)"),
        "empty.npy": (np.zeros((0, 8, 8), np.uint8), "the array is empty"),
    }
    for name, (array, message) in cases.items():
        np.save(tmp_path / name, array)
        assert f"{tmp_path / name}: {message}" in cli_user_error("predict", model, tmp_path / name)


@pytest.mark.slow
def test_a_model_of_csv_features_takes_integers_as_numbers(features_model, tmp_path, capsys):
    run, counts = features_model
    np.save(tmp_path / "ints.npy", counts)  # int64 0..16: numbers, not grey levels to divide by 255
    np.save(tmp_path / "floats.npy", counts.astype(np.float64))
    np.save(tmp_path / "big.npy", counts * 1000)  # out of 0..255, and fine for features
    stdout = cli_ok("predict", run, tmp_path / "ints.npy", tmp_path / "floats.npy").stdout.splitlines()
    assert [line.split(": ")[1] for line in stdout[:5]] == [line.split(": ")[1] for line in stdout[5:]]
    status, out, _ = in_process(capsys, "predict", run, tmp_path / "big.npy")
    assert status == 0 and len(out.splitlines()) == 5
    # A picture is no input for it, though its 64 features would make a square.
    from PIL import Image

    Image.new("L", (40, 40), 255).save(tmp_path / "picture.png")
    assert "picture.png: this model takes samples of shape (64,) (features, not pixels), not images" in refused(
        capsys, "predict", run, tmp_path / "picture.png")


@pytest.mark.slow
def test_a_run_of_backprop_train_on_digits_takes_pixels(tmp_path, capsys):
    """The rules follow the record: a digits run takes pixels even from a .npy of shape (N, 64)."""
    cli_ok("train", "--epochs", "1", "--hidden", "16", "--no-plots", "--quiet", "--out", tmp_path / "run", cwd=tmp_path)
    np.save(tmp_path / "x.npy", np.full((2, 8, 8), 300, np.int64))
    assert "x.npy: int64 values from 300 to 300" in refused(capsys, "predict", tmp_path / "run", tmp_path / "x.npy")


# IDX image files go through backprop.images.pixels, like .npy pixels.


@pytest.fixture(scope="module")
def idx_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idx")
    x, labels = bp.datasets.load_digits(dtype=np.float64)
    levels = np.round(x[:400, 0] * 255).astype(np.int64)
    for dtype in ("uint8", "int32", "int16"):
        bp.datasets.save_idx(folder / f"{dtype}-images.idx", levels.astype(dtype))
    bp.datasets.save_idx(folder / "wide-images.idx", (levels * 4).astype(np.int32))
    bp.datasets.save_idx(folder / "float-images.idx", levels.astype(np.float32))
    bp.datasets.save_idx(folder / "labels.idx", labels[:400].astype(np.uint8))
    return folder


@pytest.mark.slow
def test_an_int32_idx_file_trains_as_its_uint8_twin(idx_files, tmp_path):
    """int32 grey levels used to be taken as floats 0..255; they are 8-bit levels, as uint8's are."""
    common = ("--epochs", "2", "--hidden", "16", "--no-plots", "--seed", "3")
    results = {}
    for dtype in ("uint8", "int32", "int16"):
        spec = f"idx:{idx_files / f'{dtype}-images.idx'},{idx_files / 'labels.idx'}"
        stdout = cli_ok("train", "--dataset", spec, *common, "--out", tmp_path / dtype, cwd=tmp_path).stdout
        results[dtype] = next(line for line in stdout.splitlines() if line.startswith("test loss")).split("  ->")[0]
    assert results["int32"] == results["uint8"] == results["int16"], results


@pytest.mark.slow
def test_idx_pixels_out_of_range_are_refused(idx_files, tmp_path):
    labels = idx_files / "labels.idx"
    message = cli_user_error("train", "--dataset", f"idx:{idx_files / 'wide-images.idx'},{labels}", "--no-plots",
                             "--out", tmp_path / "wide", cwd=tmp_path)
    assert "int32 values from 0 to 1020" in message and "integer pixels are 8-bit grey levels from 0 to 255" in message
    message = cli_user_error("train", "--dataset", f"idx:{idx_files / 'float-images.idx'},{labels}", "--no-plots",
                             "--out", tmp_path / "float", cwd=tmp_path)
    assert "float32 values from 0 to 255" in message and "divide by 255, or save as uint8" in message
    assert not (tmp_path / "wide").exists() and not (tmp_path / "float").exists()
