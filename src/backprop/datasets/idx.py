"""Reading and writing IDX files, the format MNIST is distributed in.

An IDX file is a header followed by the array's elements, big-endian, in C order::

    byte 0, 1   0, 0
    byte 2      type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                           0x0D float32, 0x0E float64
    byte 3      rank r (the number of dimensions, 1..255)
    r x 4 bytes each dimension, a big-endian unsigned 32-bit integer
    then        prod(dimensions) * itemsize bytes of data

The file may be gzip-compressed as a whole; ``load_idx`` tells by the gzip magic bytes
``1f 8b``, not by the name. It checks the header against the file before it allocates the
array, so a truncated, over-long or lying file gives a ``ValueError`` rather than garbage
or a memory blow-up.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ..files import atomic_write
from ..paths import check_readable_file

__all__ = ["load_idx", "save_idx"]

# type code -> dtype as stored on disk (big-endian)
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_NAMES = {code: dtype.newbyteorder("=").name for code, dtype in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot expand data more than 1032-fold (zlib's documented limit), so a gzip file
# of s bytes decompresses to at most 1032 s bytes: a header claiming more is a lie.
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 18
# IDX allows rank 255, NumPy arrays at most 64 dimensions (32 before NumPy 2).
_MAX_NDIM = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into an array in native byte order.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``t10k-images-idx3-ubyte`` or ``t10k-images-idx3-ubyte.gz``. Gzip is
        detected by the content (magic bytes ``1f 8b``), whatever the name.

    Returns
    -------
    numpy.ndarray
        An array of the shape the header gives (rank 1 to 255) and the dtype of its type
        code: uint8, int8, int16, int32, float32 or float64.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a readable regular file (a folder, a FIFO, a link loop), if the file
        is not IDX (the magic number's first two bytes are not zero, the type code is unknown,
        the rank is 0), if the data is shorter or longer than the header says, or if a gzip
        stream is corrupt. The message names the file, what the header
        promised and what was found.
    """
    path = Path(path)
    check_readable_file(path)  # before open: a FIFO would block it for ever
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        file_size = os.fstat(raw.fileno()).st_size
        if not compressed:
            return _read_idx(raw, path.name, file_size=file_size)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_idx(stream, path.name, compressed_size=file_size)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path.name}: corrupt gzip stream ({error})") from error


def save_idx(path: str | os.PathLike[str], array: ArrayLike) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    The file is written to a temporary file in the same directory and renamed over ``path``
    at the end, so a reader never sees half a file and a failure leaves ``path`` untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its directory must exist.
    array : array_like
        Rank 1 to 255, each dimension below 2**32, dtype uint8, int8, int16, int32,
        float32 or float64 (convert other dtypes with ``astype`` first).

    Raises
    ------
    TypeError
        If the dtype has no IDX type code.
    ValueError
        If the rank or a dimension does not fit the format.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _type_code(array.dtype)
    if code is None:
        names = ", ".join(_TYPE_NAMES.values())
        raise TypeError(
            f"save_idx({path.name}): IDX stores {names}, got {array.dtype}; "
            "convert with array.astype(...) first"
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"save_idx({path.name}): IDX needs rank 1 to 255, got {array.ndim}")
    if any(n >= 2**32 for n in array.shape):
        raise ValueError(
            f"save_idx({path.name}): IDX dimensions must be below 2**32, got {array.shape}"
        )
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = np.ascontiguousarray(array, dtype=_DTYPES[code]).reshape(-1).view(np.uint8)
    with atomic_write(path) as file:
        if path.name.lower().endswith(".gz"):
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=file, mtime=0) as stream:
                stream.write(header)
                stream.write(data)  # type: ignore[arg-type]  # NumPy types ndarray a Buffer only on 3.12+
        else:
            file.write(header)
            file.write(data)


def _type_code(dtype: np.dtype) -> int | None:
    native = dtype.newbyteorder("=")
    for code, disk in _DTYPES.items():
        if native == disk.newbyteorder("="):
            return code
    return None


def _read_idx(
    stream: io.BufferedIOBase,
    name: str,
    file_size: int | None = None,
    compressed_size: int | None = None,
) -> np.ndarray:
    """Parse and check the header, then read exactly the data it promises.

    ``file_size`` is given for a plain file (checked exactly before reading), and
    ``compressed_size`` for a gzip stream (whose size is only known by reading it).
    """
    magic = stream.read(4)
    if len(magic) < 4:
        raise ValueError(
            f"{name}: not an IDX file: expected a 4-byte magic number, "
            f"found a file of {len(magic)} bytes"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"{name}: not an IDX file: the magic number must start with two zero bytes, "
            f"found {magic.hex(' ')}"
        )
    code, rank = magic[2], magic[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X} {n}" for c, n in _TYPE_NAMES.items())
        raise ValueError(f"{name}: unknown IDX type code 0x{code:02X}; known: {known}")
    if rank == 0:
        raise ValueError(f"{name}: IDX header gives rank 0; expected at least one dimension")
    raw_dims = stream.read(4 * rank)
    if len(raw_dims) < 4 * rank:
        raise ValueError(
            f"{name}: header says rank {rank} ({4 * rank} bytes of dimensions) "
            f"but the file ends after {len(raw_dims)} of them"
        )
    shape = struct.unpack(f">{rank}I", raw_dims)
    if rank > _MAX_NDIM:
        raise ValueError(
            f"{name}: header gives rank {rank}, more than the {_MAX_NDIM} dimensions a NumPy "
            "array can have"
        )
    dtype = _DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    header_size = 4 + 4 * rank
    promise = (
        f"header says {' x '.join(map(str, shape))} {_TYPE_NAMES[code]} ({expected} bytes)"
    )

    if file_size is not None:
        found = file_size - header_size
        if found != expected:
            raise ValueError(f"{name}: {promise} but the file holds {found} bytes of data")
    if compressed_size is not None:
        bound = _MAX_DEFLATE_RATIO * compressed_size
        if header_size + expected > bound:
            raise ValueError(
                f"{name}: {promise} but a gzip file of {compressed_size} bytes cannot "
                f"decompress to more than {bound} bytes"
            )

    buffer = np.empty(expected, dtype=np.uint8)
    view = memoryview(buffer)  # type: ignore[arg-type]  # NumPy types ndarray a Buffer only on 3.12+
    filled = 0
    try:
        while filled < expected:
            n = stream.readinto(view[filled : filled + _CHUNK])
            if not n:
                break
            filled += n
        extra = stream.read(1)
    except EOFError as error:
        raise ValueError(
            f"{name}: {promise} but the gzip stream breaks off after at least {filled} bytes "
            f"of data (truncated download? {error})"
        ) from error
    if filled < expected:
        raise ValueError(f"{name}: {promise} but the file holds {filled} bytes of data")
    if extra:
        raise ValueError(f"{name}: {promise} but the file holds more data than that")

    array = buffer.view(dtype).reshape(shape)
    if not dtype.isnative:
        array.byteswap(inplace=True)
        array = array.view(dtype.newbyteorder())
    return array
