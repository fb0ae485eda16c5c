"""Writing files: atomically, and safetensors files byte for byte the same for the same content.

Every file backprop writes (model files, metrics, figures, IDX files, downloads, handouts)
goes through ``atomic_write``, so an error or Ctrl-C half-way never leaves half a file. Model
files and checkpoints are written by ``write_safetensors``, so two runs that end with the same
weights write the same bytes, and ``sha256sum`` can compare them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import numpy as np


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Yield a file beside ``path`` (``mode`` "wb" or "w"); on success it replaces ``path``.

    The temporary file is fsynced, renamed over ``path`` with ``os.replace`` and the rename made
    durable by an fsync of the directory. On any exception the temporary file is removed and
    ``path`` is left as it was. The file gets the usual permissions (0o666 less the umask), not
    tempfile's 0o600: models and figures are meant to be shared.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {directory} does not exist")
    temp = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o666)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); where directories cannot be opened, skip it."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


#: The safetensors dtype of each NumPy dtype, in the order the safetensors library lays tensors
#: out (its ``Dtype`` enum, last first): the largest items first, so every tensor's data starts
#: at a multiple of its item size.
SAFETENSORS_DTYPES = {
    np.dtype(kind).newbyteorder("<"): code
    for kind, code in (
        (np.uint64, "U64"), (np.int64, "I64"), (np.float64, "F64"), (np.float32, "F32"),
        (np.uint32, "U32"), (np.int32, "I32"), (np.float16, "F16"), (np.uint16, "U16"),
        (np.int16, "I16"), (np.int8, "I8"), (np.uint8, "U8"), (np.bool_, "BOOL"),
    )
}
_DTYPE_ORDER = {code: position for position, code in enumerate(SAFETENSORS_DTYPES.values())}


def write_safetensors(
    file: IO[bytes], tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None
) -> None:
    """Write ``tensors`` and the string map ``metadata`` to ``file`` as a safetensors file.

    The format (https://github.com/huggingface/safetensors, "Format"), which the
    ``safetensors`` library and every backprop read:

    - 8 bytes: ``N``, the size of the header, an unsigned 64-bit little-endian integer;
    - ``N`` bytes: the header, a UTF-8 JSON object holding ``"__metadata__"`` (strings to
      strings, left out when empty) and, for each tensor, ``"name": {"dtype": "F32",
      "shape": [2, 3], "data_offsets": [begin, end]}``, the offsets counted in bytes from the
      start of the data; padded with spaces to a multiple of 8 bytes;
    - the data: each tensor's bytes in C order, little-endian, one after the other with no
      gap, covering the whole rest of the file.

    The library's own writer keeps the metadata in a Rust ``HashMap``, whose order changes
    from call to call; here everything has a fixed order (the metadata's keys sorted, the
    tensors in the library's order: by dtype, largest items first, then by name), so the
    same content always gives the same bytes. The JSON is compact, as the library writes it.
    Views and big-endian arrays are written as their values. Raises TypeError for a dtype
    safetensors has no name for and for metadata that is not strings to strings.
    """
    if metadata and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        got = f"{dict(metadata)!r:.200}"
        raise TypeError(f"write_safetensors: metadata must map strings to strings, got {got}")
    entries, offset = [], 0
    for name, array in tensors.items():
        dtype = array.dtype.newbyteorder("<")
        code = SAFETENSORS_DTYPES.get(dtype)
        if code is None:
            raise TypeError(
                f"write_safetensors: tensor {name!r} has dtype {array.dtype}; expected one of"
                f" {', '.join(sorted(str(known) for known in SAFETENSORS_DTYPES))}"
            )
        entries.append((_DTYPE_ORDER[code], name, code, np.asarray(array, dtype, order="C")))
    entries.sort(key=lambda entry: entry[:2])
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {key: metadata[key] for key in sorted(metadata)}
    for _, name, code, data in entries:
        end = offset + data.nbytes
        header[name] = {"dtype": code, "shape": list(data.shape), "data_offsets": [offset, end]}
        offset = end
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    file.write(len(text).to_bytes(8, "little"))
    file.write(text)
    for *_, data in entries:
        file.write(data.reshape(-1).view(np.uint8))
