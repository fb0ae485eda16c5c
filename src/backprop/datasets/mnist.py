"""MNIST from its four standard IDX files, read from a directory, downloaded on request.

The files keep their original names, gzip-compressed or not::

    train-images-idx3-ubyte[.gz]   60,000 x 28 x 28 uint8
    train-labels-idx1-ubyte[.gz]   60,000 uint8 labels 0-9
    t10k-images-idx3-ubyte[.gz]    10,000 x 28 x 28 uint8
    t10k-labels-idx1-ubyte[.gz]    10,000 uint8 labels 0-9

``load_mnist(directory, download=True)`` fetches a missing ``.gz`` file from the mirrors in
``MIRRORS``, checks its SHA-256 against ``SHA256`` and only then renames it into place.
Without network access, download the files elsewhere and copy them into the directory.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..files import atomic_write
from .idx import load_idx

__all__ = ["MIRRORS", "SHA256", "DownloadError", "load_mnist"]

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# The largest file, train-images-idx3-ubyte.gz, is 9.9 MB: refuse a response far past that.
_MAX_DOWNLOAD_BYTES = 32 * 2**20
_CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror gave an MNIST file with the expected SHA-256 (or none could be reached)."""


def load_mnist(
    directory: str | os.PathLike[str],
    kind: str = "train",
    download: bool = False,
    *,
    mirrors: Sequence[str] = MIRRORS,
    timeout: float = 60.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Load the MNIST training or test split from the IDX files in ``directory``.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds the files under their standard names, each either plain or ``.gz`` (the plain
        one is read when both exist).
    kind : {"train", "test"}
        ``"train"`` reads ``train-*`` (60,000 images), ``"test"`` reads ``t10k-*`` (10,000).
    download : bool
        If True, a missing file is downloaded as ``.gz`` from ``mirrors`` (in order), checked
        against its known SHA-256 and renamed into ``directory`` (created if needed).
    mirrors : sequence of str
        Base URLs the file names are appended to; ``MIRRORS`` by default.
    timeout : float
        Seconds to wait for each mirror to answer.

    Returns
    -------
    images : numpy.ndarray
        uint8, shape ``(N, 28, 28)``, pixel values 0 (background) to 255.
    labels : numpy.ndarray
        uint8, shape ``(N,)``, digits 0 to 9.

    Raises
    ------
    FileNotFoundError
        If a file is missing and ``download`` is False; the message names the file and the
        directory.
    DownloadError
        If a download fails on every mirror (no network, or a SHA-256 mismatch); nothing is
        left behind, and the message says how to place the files by hand.
    ValueError
        If ``kind`` is unknown, or the files are not MNIST-shaped, disagree in length or hold
        a label outside 0..9.
    """
    if kind not in _FILES:
        raise ValueError(f"load_mnist: kind must be 'train' or 'test', got {kind!r}")
    directory = Path(directory).expanduser()
    images_name, labels_name = _FILES[kind]
    images_path = _locate(directory, images_name, download, mirrors, timeout)
    labels_path = _locate(directory, labels_name, download, mirrors, timeout)

    images = load_idx(images_path)
    labels = load_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_path}: expected MNIST images, uint8 of shape (N, 28, 28), "
            f"got {images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected MNIST labels, uint8 of shape (N,), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"load_mnist({directory}): {images_path.name} holds {len(images)} images "
            f"but {labels_path.name} holds {len(labels)} labels"
        )
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise ValueError(
            f"{labels_path}: labels must lie in 0..9, found {labels[bad[0]]} at index "
            f"{bad[0]} ({bad.size} such labels)"
        )
    return images, labels


def _locate(
    directory: Path, name: str, download: bool, mirrors: Sequence[str], timeout: float
) -> Path:
    """The path of ``name`` or ``name.gz`` in ``directory``, downloading it if asked to."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    if not download:
        raise FileNotFoundError(
            f"MNIST file {name} (or {name}.gz) not found in {directory}; place it there "
            "or pass download=True"
        )
    directory.mkdir(parents=True, exist_ok=True)
    return _download(f"{name}.gz", directory, mirrors, timeout)


def _download(name: str, directory: Path, mirrors: Sequence[str], timeout: float) -> Path:
    """Fetch ``name`` from the first mirror that serves it with the right SHA-256."""
    expected = SHA256[name]
    target = directory / name
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            with (
                urllib.request.urlopen(url, timeout=timeout) as response,
                atomic_write(target) as file,
            ):
                digest = hashlib.sha256()
                size = 0
                while chunk := response.read(_CHUNK):
                    size += len(chunk)
                    if size > _MAX_DOWNLOAD_BYTES:
                        raise _RejectedError(f"more than {_MAX_DOWNLOAD_BYTES} bytes")
                    digest.update(chunk)
                    file.write(chunk)
                if digest.hexdigest() != expected:
                    raise _RejectedError(
                        f"SHA-256 mismatch: got {digest.hexdigest()}, expected {expected}"
                    )
            return target
        except (_RejectedError, OSError, http.client.HTTPException) as error:
            failures.append(f"  {url}: {error}")
    tried = "\n".join(failures) or "  (no mirrors given)"
    raise DownloadError(
        f"could not download {name} into {directory}:\n{tried}\n"
        f"Without network access, fetch {name} elsewhere (from one of the mirrors above) and "
        f"place it in {directory} by hand, compressed or gunzipped; its SHA-256 is {expected}."
    )


class _RejectedError(Exception):
    """A mirror answered, but with a file we will not keep."""
