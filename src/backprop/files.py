"""Writing files atomically: an error or Ctrl-C half-way never leaves half a file.

Every file backprop writes (model files, metrics, figures, IDX files, downloads, handouts)
goes through ``atomic_write``. What goes into model files and checkpoints, byte for byte the
same for the same content, is ``container.write_safetensors`` (kept importable from here).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .container import SAFETENSORS_DTYPES, write_safetensors

__all__ = ["SAFETENSORS_DTYPES", "atomic_write", "write_safetensors"]


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
        with os.fdopen(fd, mode, encoding=None if mode == "wb" else "utf-8") as file:
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
