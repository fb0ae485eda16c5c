"""Tests of backprop.datasets: IDX, MNIST, digits, splits, CSV and synthetic data.

Self-contained: IDX and MNIST tests write their own small files. The tests on the real MNIST
test set read ``../shared/data/mnist`` beside the repository and skip where it is absent.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_MNIST, needs_shared_mnist

import backprop.datasets as ds
from backprop import Linear
from backprop.datasets import mnist as mnist_module
from backprop.files import atomic_write

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
         np.float64: 0x0E}


def idx_bytes(code: int, shape: tuple[int, ...], data: bytes) -> bytes:
    """An IDX file built by hand, independently of save_idx."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + data


def sample(dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    """Values spread over the dtype's range (a quarter of it for floats, with fractions)."""
    n = int(np.prod(shape))
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        values = np.linspace(info.min, info.max, num=n)
    else:
        big = float(np.finfo(dtype).max) / 4
        values = np.linspace(-big, big, num=n) / 3
    return values.astype(dtype).reshape(shape)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --------------------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5)], ids=["rank1", "rank3"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_idx_round_trip(tmp_path, dtype, shape, compress):
    array = sample(dtype, shape)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    ds.save_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    loaded = ds.load_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    assert loaded.shape == shape
    np.testing.assert_array_equal(loaded, array)
    assert leftovers(tmp_path) == [path.name]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_idx_reads_big_endian_written_by_hand(tmp_path, dtype):
    array = sample(dtype, (2, 3))
    path = tmp_path / "hand-idx2-ubyte"
    path.write_bytes(idx_bytes(CODES[dtype], (2, 3), array.astype(array.dtype.newbyteorder(">"))
                               .tobytes()))
    np.testing.assert_array_equal(ds.load_idx(path), array)


def test_idx_save_writes_the_standard_header(tmp_path):
    ds.save_idx(tmp_path / "x", np.array([[1, 2, 3]], dtype=np.int16))
    assert (tmp_path / "x").read_bytes() == idx_bytes(0x0B, (1, 3), b"\0\1\0\2\0\3")


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw = idx_bytes(0x08, (3, 4), array.tobytes())
    (tmp_path / "compressed.idx").write_bytes(gzip.compress(raw))
    (tmp_path / "plain.gz").write_bytes(raw)
    np.testing.assert_array_equal(ds.load_idx(tmp_path / "compressed.idx"), array)
    np.testing.assert_array_equal(ds.load_idx(tmp_path / "plain.gz"), array)


def test_idx_higher_rank_and_empty(tmp_path):
    high = np.arange(2**10, dtype=np.float32).reshape((2,) * 10)
    ds.save_idx(tmp_path / "high.idx", high)
    np.testing.assert_array_equal(ds.load_idx(tmp_path / "high.idx"), high)
    empty = np.zeros((0, 28, 28), dtype=np.uint8)
    ds.save_idx(tmp_path / "empty.idx.gz", empty)
    assert ds.load_idx(tmp_path / "empty.idx.gz").shape == (0, 28, 28)


def write(path: Path, data: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_idx_truncated_data(tmp_path, compress):
    path = write(tmp_path / "t10k-images-idx3-ubyte.gz",
                 idx_bytes(0x08, (10, 28, 28), bytes(7830)), compress)
    message = (
        "t10k-images-idx3-ubyte.gz: header says 10 x 28 x 28 uint8 (7840 bytes) "
        "but the file holds 7830 bytes of data"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ds.load_idx(path)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_idx_over_long_data(tmp_path, compress):
    path = write(tmp_path / "long.idx", idx_bytes(0x0C, (3,), bytes(13)), compress)
    found = "13 bytes of data" if not compress else "more data than that"
    with pytest.raises(ValueError, match=rf"long\.idx: header says 3 int32 \(12 bytes\).*{found}"):
        ds.load_idx(path)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"\x00\x01\x08\x01\0\0\0\1\7", r"bad: not an IDX file: .*two zero bytes, found 00 01 08 01"),
        (b"\x1f\x8c\x08\x01\0\0\0\1\7", r"bad: not an IDX file: .*two zero bytes"),
        (b"\x00\x00\x0a\x01\0\0\0\1\7", r"bad: unknown IDX type code 0x0A; known: 0x08 uint8"),
        (b"\x00\x00\x08\x00", r"bad: IDX header gives rank 0"),
        (b"\x00\x00", r"bad: not an IDX file: expected a 4-byte magic number, found .* 2 bytes"),
        (b"\x00\x00\x08\x03\0\0\0\1\0\0", r"bad: header says rank 3 \(12 bytes of dimensions\)"),
        (idx_bytes(0x08, (1,) * 65, b"\1"), r"bad: header gives rank 65, more than the 64"),
    ],
    ids=["magic", "magic-gzip-lookalike", "type", "rank0", "short", "dims", "rank65"],
)
def test_idx_bad_headers(tmp_path, content, pattern, compress):
    path = write(tmp_path / "bad", content, compress)
    with pytest.raises(ValueError, match=pattern):
        ds.load_idx(path)


def test_idx_absurd_header_is_refused_before_allocating(tmp_path):
    huge = (2**32 - 1, 2**32 - 1, 2**32 - 1)
    plain = write(tmp_path / "plain", idx_bytes(0x0E, huge, bytes(8)), compress=False)
    with pytest.raises(ValueError, match=r"header says 4294967295 x .* float64 \(\d+ bytes\) "
                                         r"but the file holds 8 bytes"):
        ds.load_idx(plain)
    packed = write(tmp_path / "packed", idx_bytes(0x0E, huge, bytes(8)), compress=True)
    with pytest.raises(ValueError, match=r"packed: .* a gzip file of \d+ bytes cannot decompress"):
        ds.load_idx(packed)


def test_idx_gzip_header_lying_small_stops_reading(tmp_path):
    # A gzip bomb: 16 MiB of zeros behind a header that promises 16 bytes. The reader stops
    # after 17 bytes instead of inflating (and allocating) it all.
    bomb = tmp_path / "bomb.gz"
    with gzip.open(bomb, "wb") as file:
        file.write(idx_bytes(0x08, (4, 4), b""))
        zeros = bytes(2**20)
        for _ in range(16):
            file.write(zeros)
    with pytest.raises(ValueError, match=r"bomb\.gz: header says 4 x 4 uint8 \(16 bytes\) "
                                         r"but the file holds more data than that"):
        ds.load_idx(bomb)


def test_idx_gzip_header_lying_large(tmp_path):
    # Plausible for the compressed size, but the stream holds less than the header says.
    path = write(tmp_path / "liar.gz", idx_bytes(0x08, (100, 100), bytes(5000)), compress=True)
    with pytest.raises(ValueError, match=r"\(10000 bytes\) but the file holds 5000 bytes"):
        ds.load_idx(path)


def test_idx_broken_gzip_stream(tmp_path):
    packed = gzip.compress(idx_bytes(0x08, (1000,), bytes(range(256)) * 4)[:1008])
    (tmp_path / "cut.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz: .*gzip stream"):
        ds.load_idx(tmp_path / "cut.gz")
    corrupt = bytearray(packed)
    corrupt[-8] ^= 0xFF  # the CRC-32 in the trailer
    (tmp_path / "crc.gz").write_bytes(bytes(corrupt))
    with pytest.raises(ValueError, match=r"crc\.gz: corrupt gzip stream"):
        ds.load_idx(tmp_path / "crc.gz")


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        ds.load_idx(tmp_path / "nope.idx")


def test_save_idx_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match=r"save_idx\(x\.idx\): IDX stores uint8, .*got int64"):
        ds.save_idx(tmp_path / "x.idx", np.arange(3))
    with pytest.raises(TypeError, match="got bool"):
        ds.save_idx(tmp_path / "x.idx", np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="rank 1 to 255, got 0"):
        ds.save_idx(tmp_path / "x.idx", np.float32(1.0))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ds.save_idx(tmp_path / "missing" / "x.idx", np.zeros(3, np.uint8))
    assert leftovers(tmp_path) == []


def test_save_idx_replaces_atomically(tmp_path):
    path = tmp_path / "x.idx"
    ds.save_idx(path, np.zeros(3, np.uint8))
    ds.save_idx(path, np.ones((2, 2), np.float64))
    np.testing.assert_array_equal(ds.load_idx(path), np.ones((2, 2)))
    with pytest.raises(RuntimeError), atomic_write(path) as file:
        file.write(b"half a file")
        raise RuntimeError("interrupted")
    np.testing.assert_array_equal(ds.load_idx(path), np.ones((2, 2)))
    assert leftovers(tmp_path) == ["x.idx"]


# ------------------------------------------------------------------------------------- MNIST


def fake_mnist(directory: Path, kind: str = "test", n: int = 5, compress: bool = True,
               labels: np.ndarray | None = None, image_shape: tuple[int, int] = (28, 28)) -> None:
    prefix = "t10k" if kind == "test" else "train"
    suffix = ".gz" if compress else ""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, *image_shape), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10 if labels is None else labels
    ds.save_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
    ds.save_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("kind", ["train", "test"])
def test_load_mnist_reads_standard_names(tmp_path, kind, compress):
    fake_mnist(tmp_path, kind, n=12, compress=compress)
    images, labels = ds.load_mnist(tmp_path, kind)
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, np.arange(12) % 10)
    assert labels.dtype == np.uint8


def test_load_mnist_prefers_the_plain_file(tmp_path):
    fake_mnist(tmp_path, "test", n=4, compress=False)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not read")
    images, _ = ds.load_mnist(tmp_path, "test")
    assert images.shape == (4, 28, 28)


def test_load_mnist_missing_file_names_file_and_directory(tmp_path):
    fake_mnist(tmp_path, "test")
    with pytest.raises(FileNotFoundError) as info:
        ds.load_mnist(tmp_path, "train")
    assert "train-images-idx3-ubyte" in str(info.value) and str(tmp_path) in str(info.value)


def test_load_mnist_checks_content(tmp_path):
    with pytest.raises(ValueError, match="kind must be 'train' or 'test', got 'val'"):
        ds.load_mnist(tmp_path, "val")
    fake_mnist(tmp_path, n=5, labels=np.arange(4, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"holds 5 images but t10k-labels-idx1-ubyte\.gz holds 4"):
        ds.load_mnist(tmp_path, "test")
    fake_mnist(tmp_path, n=3, labels=np.array([1, 10, 3], dtype=np.uint8))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9, found 10 at index 1"):
        ds.load_mnist(tmp_path, "test")
    fake_mnist(tmp_path, n=3, image_shape=(28, 27))
    with pytest.raises(ValueError, match=r"uint8 of shape \(N, 28, 28\), got uint8 of shape"):
        ds.load_mnist(tmp_path, "test")


def serve(directory: Path) -> str:
    """A file:// mirror URL for ``directory``."""
    return directory.as_uri() + "/"


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """A mirror holding fake t10k files, their hashes made the expected ones."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    fake_mnist(mirror, "test", n=7)
    for path in mirror.iterdir():
        monkeypatch.setitem(mnist_module.SHA256, path.name, sha256(path))
    return mirror


def test_download_from_file_mirror(tmp_path, fake_mirror):
    target = tmp_path / "data" / "mnist"  # created on demand
    missing = serve(tmp_path / "nowhere")
    images, labels = ds.load_mnist(target, "test", download=True,
                                   mirrors=[missing, serve(fake_mirror)])
    assert images.shape == (7, 28, 28) and labels.shape == (7,)
    assert leftovers(target) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    for name in leftovers(target):
        assert sha256(target / name) == sha256(fake_mirror / name)


def test_download_rejects_sha_mismatch_and_leaves_nothing(tmp_path, fake_mirror, monkeypatch):
    monkeypatch.setitem(mnist_module.SHA256, "t10k-images-idx3-ubyte.gz", "0" * 64)
    target = tmp_path / "target"
    with pytest.raises(ds.DownloadError, match="SHA-256 mismatch") as info:
        ds.load_mnist(target, "test", download=True, mirrors=[serve(fake_mirror)])
    assert "by hand" in str(info.value) and str(target) in str(info.value)
    assert leftovers(target) == []


def test_download_rejects_oversized_response(tmp_path, fake_mirror, monkeypatch):
    monkeypatch.setattr(mnist_module, "_MAX_DOWNLOAD_BYTES", 100)
    target = tmp_path / "target"
    with pytest.raises(ds.DownloadError, match="more than 100 bytes"):
        ds.load_mnist(target, "test", download=True, mirrors=[serve(fake_mirror)])
    assert leftovers(target) == []


def test_download_without_network_says_to_place_files_by_hand(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ds.DownloadError) as info:
        ds.load_mnist(tmp_path, "train", download=True)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "by hand" in message
    assert all(mirror in message for mirror in mnist_module.MIRRORS)
    assert isinstance(info.value, OSError)
    assert leftovers(tmp_path) == []


# MNIST's real test set, where ../shared/data/mnist is present (conftest's needs_shared_mnist).


@needs_shared_mnist
def test_real_mnist_files_match_readme_hashes():
    readme = (SHARED_MNIST / "README.md").read_text()
    listed = dict(re.findall(r"\|\s*(\S+\.gz)\s*\|\s*([0-9a-f]{64})\s*\|", readme))
    assert set(listed) == {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    for name, digest in listed.items():
        assert sha256(SHARED_MNIST / name) == digest == mnist_module.SHA256[name]


@needs_shared_mnist
def test_real_mnist_test_set():
    images = ds.load_idx(SHARED_MNIST / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0
    images, labels = ds.load_mnist(SHARED_MNIST, kind="test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    np.testing.assert_array_equal(np.unique(labels), np.arange(10))
    np.testing.assert_array_equal(labels[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        ds.load_mnist(SHARED_MNIST, kind="train")


@needs_shared_mnist
def test_real_mnist_download_verifies_the_real_hashes(tmp_path):
    images, labels = ds.load_mnist(tmp_path, "test", download=True,
                                   mirrors=[serve(SHARED_MNIST)])
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert leftovers(tmp_path) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


# ------------------------------------------------------------------------------------ digits


def test_digits_images_and_flat():
    images, labels = ds.load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.shape == (1797,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.unique(labels), np.arange(10))
    flat, flat_labels = ds.load_digits(flatten=True, dtype=np.float64)
    assert flat.shape == (1797, 64) and flat.dtype == np.float64
    np.testing.assert_allclose(flat, images.reshape(1797, 64), atol=1e-7)
    np.testing.assert_array_equal(flat_labels, labels)
    # every value is a count of 16ths
    np.testing.assert_array_equal(flat * 16, np.round(flat * 16))


def test_digits_arguments():
    images, labels = ds.load_digits(n_class=3)
    assert set(labels.tolist()) == {0, 1, 2} and len(images) == len(labels)
    with pytest.raises(TypeError, match="load_digits: dtype must be float32 or float64"):
        ds.load_digits(dtype=np.int32)
    with pytest.raises(ValueError, match="n_class must be from 1 to 10, got 11"):
        ds.load_digits(n_class=11)


# ------------------------------------------------------------------------------------- split


def test_split_disjoint_complete_and_deterministic():
    x = np.arange(100)[:, None] * np.ones((1, 3))
    y = np.arange(100) * 0.5  # float targets: plain shuffle
    train, val, test = ds.train_val_test_split(x, y, 0.2, 0.1, seed=3)
    assert [len(part[0]) for part in (train, val, test)] == [70, 20, 10]
    ids = np.concatenate([part[0][:, 0] for part in (train, val, test)])
    np.testing.assert_array_equal(np.sort(ids), np.arange(100))
    for xs, ys in (train, val, test):
        np.testing.assert_array_equal(xs[:, 0] * 0.5, ys)
    again = ds.train_val_test_split(x, y, 0.2, 0.1, seed=3)
    for part, same in zip((train, val, test), again):
        np.testing.assert_array_equal(part[0], same[0])
    other = ds.train_val_test_split(x, y, 0.2, 0.1, seed=4)
    assert not np.array_equal(other[0][0], train[0])
    generator = ds.train_val_test_split(x, y, 0.2, 0.1, seed=np.random.default_rng(3))
    assert len(generator[2][0]) == 10


def test_split_stratifies_integer_labels():
    x, y = ds.load_digits(flatten=True)
    train, val, test = ds.train_val_test_split(x, y, 0.15, 0.15, seed=0)
    assert [len(part[1]) for part in (train, val, test)] == [1257, 270, 270]
    whole = np.bincount(y) / len(y)
    for _, labels in (val, test):
        counts = np.bincount(labels, minlength=10)
        assert np.all(np.abs(counts - whole * len(labels)) <= 1)
    ids = np.concatenate([part[0] for part in (train, val, test)])
    assert len(np.unique(ids, axis=0)) == len(np.unique(x, axis=0))
    plain = ds.train_val_test_split(x, y, 0.15, 0.15, seed=0, stratify=False)
    assert [len(part[1]) for part in plain] == [1257, 270, 270]


def test_split_small_classes_and_train_test():
    y = np.array([0] * 8 + [1] * 2)
    x = np.arange(10)
    (x_train, y_train), (x_test, y_test) = ds.train_test_split(x, y, test_fraction=0.5, seed=1)
    assert sorted(y_test.tolist()) == [0, 0, 0, 0, 1] and len(x_train) == 5
    assert sorted(y_train.tolist()) == [0, 0, 0, 0, 1]
    assert set(x_train.tolist()).isdisjoint(x_test.tolist())
    train, val, test = ds.train_val_test_split(x, y, 0.0, 0.01)
    assert len(val[0]) == 0 and len(test[0]) == 1 and len(train[0]) == 9


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"val_fraction": -0.1}, ValueError, r"val_fraction must lie in \[0, 1\), got -0.1"),
        ({"test_fraction": 1.0}, ValueError, r"test_fraction must lie in \[0, 1\), got 1.0"),
        ({"val_fraction": float("nan")}, ValueError, "val_fraction must lie"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, ValueError, "0.5 \\+ 0.5 = 1.0"),
        ({"val_fraction": "0.1"}, TypeError, "val_fraction must be a number, got '0.1'"),
        ({"test_fraction": True}, TypeError, "test_fraction must be a number"),
    ],
)
def test_split_validates_fractions(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        ds.train_val_test_split(np.zeros((10, 2)), np.zeros(10), **kwargs)


def test_split_validates_data():
    with pytest.raises(ValueError, match="same number of samples, got 10 and 9"):
        ds.train_val_test_split(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="2 samples, 1 for validation and 1 for test leave none"):
        ds.train_val_test_split(np.zeros((2, 2)), np.zeros(2), 0.3, 0.3)
    with pytest.raises(ValueError, match=r"stratify=True needs 1-D class labels y"):
        ds.train_val_test_split(np.zeros((10, 2)), np.zeros((10, 2)), stratify=True)


# --------------------------------------------------------------------------------------- CSV


def test_csv_by_name_and_index(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("\ufeffa, b ,label\n1,2,0\n\n3.5,-4e1,1\n\"5\",1e-3,2\n", encoding="utf-8")
    features, target = ds.load_csv(path, "label")
    assert features.dtype == np.float32 and target.dtype == np.float32
    np.testing.assert_array_equal(features, np.array([[1, 2], [3.5, -40], [5, 1e-3]], np.float32))
    np.testing.assert_array_equal(target, [0, 1, 2])
    for index in (-1, 2):
        same, labels = ds.load_csv(path, index, dtype=np.float64, target_dtype=np.int64)
        assert same.dtype == np.float64 and labels.dtype == np.int64
        np.testing.assert_array_equal(labels, [0, 1, 2])
    features, target = ds.load_csv(path, "a")
    np.testing.assert_array_equal(target, [1, 3.5, 5])
    assert features.shape == (3, 2)


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-infinity"])
def test_csv_refuses_a_cell_that_is_not_finite(cell, tmp_path):
    path = tmp_path / "table.csv"
    path.write_text(f"a,b,label\n1,2,0\n3,{cell},1\n")
    with pytest.raises(ValueError, match=rf"table.csv, line 3, column 1 \('b'\): expected a finite number, found '{cell}'"):
        ds.load_csv(path, "label")


def test_csv_without_header_and_other_delimiter(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("1\t2\t3\n4\t5\t6\n")
    features, target = ds.load_csv(path, 0, delimiter="\t", header=False)
    np.testing.assert_array_equal(features, [[2, 3], [5, 6]])
    np.testing.assert_array_equal(target, [1, 4])
    with pytest.raises(ValueError, match="is a column name but header=False"):
        ds.load_csv(path, "x", delimiter="\t", header=False)


@pytest.mark.parametrize(
    ("text", "target", "pattern"),
    [
        ("a,b,c\n1,2,3\n4,x,6\n", "c",
         r"bad\.csv, line 3, column 1 \('b'\): expected a number, found 'x'"),
        ("a,b,c\n1,,3\n", "c", r"line 2, column 1 \('b'\): expected a number, found ''"),
        ("a,b,c\n1,2,3\n", "d", r"no column named 'd'; the columns are 'a', 'b', 'c'"),
        ("a,b,c\n1,2,3\n", 3, r"index 3 is out of range for 3 columns \(valid: -3 to 2\)"),
        ("a,b,c\n1,2,3\n", -4, r"index -4 is out of range"),
        ("a,b,c\n1,2,3\n4,5\n", "c", r"bad\.csv, line 3: expected 3 fields, found 2"),
        ("", "c", r"bad\.csv: the file is empty; expected a header line"),
        ("a,b,c\n", "c", r"bad\.csv: the file holds a header but no data rows"),
        ("a,a,c\n1,2,3\n", "a", r"2 columns are named 'a'"),
        ("a,b,c\n1,2,3.5\n", "c", r"target column 2 \('c'\) must hold whole numbers .* 3.5"),
    ],
    ids=["cell", "empty-cell", "name", "index", "negative", "fields", "empty", "no-rows",
         "duplicate", "not-whole"],
)
def test_csv_errors(tmp_path, text, target, pattern):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        ds.load_csv(path, target, target_dtype=np.int64)


def test_csv_errors_without_header_name_the_index(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2\n3,oops\n")
    with pytest.raises(ValueError, match=r"bad\.csv, line 2, column 1: expected a number"):
        ds.load_csv(path, -1, header=False)
    with pytest.raises(FileNotFoundError):
        ds.load_csv(tmp_path / "missing.csv", 0)


# --------------------------------------------------------------------------------- synthetic


def test_polynomial_shapes_and_determinism():
    x, t = ds.polynomial(50)
    assert x.shape == (50, 1) and t.shape == (50, 1) and x.dtype == t.dtype == np.float32
    assert np.all((x >= -1) & (x < 1))
    x2, t2 = ds.polynomial(50)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(t, t2)
    x3, _ = ds.polynomial(5, x_range=(2, 3), seed=1, dtype=np.float64)
    assert x3.dtype == np.float64 and np.all((x3 >= 2) & (x3 < 3))


def test_polynomial_exact_without_noise():
    x, t = ds.polynomial(20, coefficients=(1.0, -2.0, 3.0), noise=0.0, dtype=np.float64)
    np.testing.assert_allclose(t, 3 * x**2 - 2 * x + 1)


def test_lstsq_on_polynomial_features_recovers_coefficients():
    w = np.array([0.5, -1.0, 2.0])
    noise = 0.1
    x, t = ds.polynomial(4000, coefficients=w, noise=noise, seed=7, dtype=np.float64)
    design = np.hstack([np.ones((len(x), 1)), ds.polynomial_features(x, 2)])
    fitted, *_ = np.linalg.lstsq(design, t[:, 0], rcond=None)
    # standard errors are about noise / sqrt(n) times O(1): 0.05 is many of them
    np.testing.assert_allclose(fitted, w, atol=0.05)
    residual = t[:, 0] - design @ fitted
    assert abs(residual.std() - noise) < 0.01


def test_polynomial_features_are_the_seeds_model_for_linear():
    x = np.array([[-1.0], [0.0], [0.5], [2.0]])
    features = ds.polynomial_features(x, 3)
    np.testing.assert_array_equal(features, np.hstack([x, x**2, x**3]))
    np.testing.assert_array_equal(ds.polynomial_features(x[:, 0], 3), features)
    assert ds.polynomial_features(x.astype(np.float32), 2).dtype == np.float32
    layer = Linear(2, 1, dtype=np.float64)
    layer.weight[...] = [[-1.0, 2.0]]  # (w1, w2)
    layer.bias[...] = 0.5  # w0
    np.testing.assert_allclose(layer(ds.polynomial_features(x, 2)), 2 * x**2 - x + 0.5)


def test_synthetic_argument_errors():
    with pytest.raises(ValueError, match=r"degree must be an int >= 1, got 0"):
        ds.polynomial_features(np.zeros(3), 0)
    with pytest.raises(ValueError, match=r"expected x of shape \(n,\) or \(n, 1\), got \(3, 2\)"):
        ds.polynomial_features(np.zeros((3, 2)), 2)
    with pytest.raises(ValueError, match="polynomial: n must be an int >= 0, got -1"):
        ds.polynomial(-1)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        ds.polynomial(3, noise=-1)
    with pytest.raises(ValueError, match=r"x_range must be \(low, high\) with low < high"):
        ds.polynomial(3, x_range=(1, 1))
    with pytest.raises(ValueError, match="coefficients must be a non-empty sequence"):
        ds.polynomial(3, coefficients=())


def test_mnist_like():
    x, y = ds.mnist_like(16, seed=2)
    assert x.shape == (16, 1, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() < 1
    assert y.shape == (16,) and y.dtype == np.int64 and y.min() >= 0 and y.max() <= 9
    again, _ = ds.mnist_like(16, seed=2)
    np.testing.assert_array_equal(x, again)
    assert ds.mnist_like(2, dtype=np.float64)[0].dtype == np.float64
