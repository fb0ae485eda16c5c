"""What is wrong with a path the user named, said in words, before anything tries to read it.

``open`` and the readers behind it (safetensors, Pillow, NumPy) report a folder, a FIFO, a
symbolic-link loop or a file without read permission each in its own way, and several of
those come out as "no such file" by the time a command prints them; a FIFO can even block a
reader for ever. ``file_problem`` looks first (``lstat``, then ``stat``) and says which it is,
so every command refuses a bad path with the same clear sentence.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["check_readable_file", "file_problem", "folder_problem"]

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as a regular file, as a phrase to follow its name; None if it can.

    For example ``"is a folder, not a file"``, ``"no such file"``, ``"is a symbolic link to
    missing.bin, which does not exist"``, ``"is a symbolic-link loop"``, ``"is a FIFO (named
    pipe), not a file"``, ``"permission denied: this user cannot read it"``.
    """
    path = Path(path)
    problem = _missing(path)
    if problem is not None:
        return problem
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    for test, kind in _KINDS:
        if test(mode):
            return f"is {kind}, not a file"
    try:
        # O_NONBLOCK: the path is a regular file by now, but it could be swapped for a FIFO.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        return "permission denied: this user cannot read it"
    except OSError as error:
        return f"cannot be opened ({error.strerror or error})"
    os.close(descriptor)
    return None


def check_readable_file(path: str | os.PathLike[str], noun: str = "file") -> None:
    """Raise unless ``path`` is a regular file this user can read: FileNotFoundError ("NAME: no such
    file", ``noun`` in place of "file") when nothing is there, ValueError naming what it is else."""
    problem = file_problem(path)
    if problem == "no such file":
        raise FileNotFoundError(f"{os.fspath(path)}: no such {noun}")
    if problem is not None:
        raise ValueError(f"{os.fspath(path)}: {problem}")


def folder_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not a folder that can be listed, as a phrase to follow its name; None if it is."""
    path = Path(path)
    problem = _missing(path, "folder")
    if problem is not None:
        return problem
    if not path.is_dir():
        return "is a file, not a folder"
    if not os.access(path, os.R_OK | os.X_OK):
        return "permission denied: this user cannot open the folder"
    return None


def _missing(path: Path, noun: str = "file") -> str | None:
    """The phrase for a path that does not lead to anything (a broken or looping link included)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        if path.is_symlink():
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
        return f"no such {noun}"
    except PermissionError:
        return "permission denied: this user cannot look inside the folder that holds it"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symbolic-link loop (a link that leads back to itself)"
        if error.errno == errno.ENOTDIR:
            return f"no such {noun} (a part of the path is a file, not a folder)"
        if error.errno == errno.ENAMETOOLONG:
            return "is too long a name for this system"
        return f"cannot be reached ({error.strerror or error})"
    return None
