"""The run folder of one ``backprop train``: named at the start, made when there is something to
write, locked while the run writes into it, taken away again if the run fails early, and never
taken away once the run's result is on disk.

- A mistake (a bad data set, a missing file, a divergence) or Ctrl-C must not leave an empty
  ``runs/<timestamp>`` behind for each try: ``guarded`` deletes the folders this run created
  and, in a folder that was already there, the files it added, until ``keep`` is called.
- A finished run is never thrown away: ``train`` calls ``keep`` as soon as the trained weights
  are on disk (the last checkpoint), so a failure after that (a full disk when the figures are
  drawn) leaves the folder as it is, and ``--resume`` can write what is missing.
- ``--out`` onto a folder that holds a run is refused unless ``overwrite`` (``--overwrite``,
  Hugging Face's ``overwrite_output_dir``), and two processes never train into one folder at
  once: ``create`` takes an exclusive lock on the folder (``flock`` on the folder itself, so no
  lock file is left behind; the system drops it when the process ends, however it ends).
  Where ``fcntl`` does not exist (Windows), folders are not locked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from ..runs.layout import RUN_FILES, holds_run
from .errors import UserError

__all__ = ["RUN_FILES", "RunFolder", "holds_run"]


class RunFolder:
    """``runs/<timestamp>`` (or ``--out``), checked now, created and locked by ``create``.

    ``overwrite`` lets ``--out`` name a folder that holds a run (its run files are deleted when
    the new run starts writing); ``resuming`` is ``--resume``'s folder, which holds a run by
    definition.
    """

    def __init__(self, requested: str | None, overwrite: bool = False, resuming: bool = False) -> None:
        self._default = requested is None
        folder = Path("runs") / time.strftime("%Y%m%d-%H%M%S") if requested is None else Path(requested)
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--out {folder}: expected a folder for the run, but it is a file")
        existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
        if not os.access(existing, os.W_OK | os.X_OK):
            raise UserError(f"--out {folder}: cannot create the run folder ({existing} is not writable)")
        self.path = folder
        self.overwrite = overwrite
        self.resuming = resuming
        if not self._default:
            self._refuse_a_run()
        self._made: list[Path] = []  # the folders this run created, outermost first
        self._there_before: set[str] | None = None  # the entries of a folder that existed
        self._lock: int | None = None
        self._kept = False

    def create(self) -> Path:
        """Make the folder (and missing parents) once and lock it; return its path."""
        if self._lock is not None or self._made:
            return self.path
        if self._default:
            self._make_fresh()
        else:
            missing = [p for p in (*reversed(self.path.parents), self.path) if not p.exists()]
            try:
                for folder in missing:
                    folder.mkdir()
                    self._made.append(folder)
            except OSError as error:
                raise UserError(
                    f"--out {self.path}: cannot create the run folder ({error.strerror})"
                ) from error
        self._lock = _lock(self.path)
        if not self._made:
            self._refuse_a_run()  # again, now that no other process can be writing one
            if self.overwrite:
                for name in RUN_FILES:
                    with contextlib.suppress(FileNotFoundError):
                        (self.path / name).unlink()
            self._there_before = {entry.name for entry in self.path.iterdir()}
        return self.path

    def keep(self) -> None:
        """From now on a failure leaves the folder as it is: the run's result is in it."""
        self._kept = True

    @contextlib.contextmanager
    def guarded(self) -> Iterator[RunFolder]:
        """On any exception (Ctrl-C, SIGTERM too) before ``keep``, undo what ``create`` and the writes
        since made; release the lock at the end in every case."""
        try:
            yield self
        except BaseException:
            if not self._kept:
                self._remove()
            raise
        finally:
            if self._lock is not None:
                os.close(self._lock)
                self._lock = None

    def _refuse_a_run(self) -> None:
        if self.resuming or self.overwrite or not self.path.is_dir():
            return
        found = holds_run(self.path)
        if found:
            raise UserError(
                f"--out {self.path} already holds a run ({', '.join(found)}); give --overwrite to replace"
                " it, --resume to continue it, or another --out"
            )

    def _make_fresh(self) -> None:
        """``runs/<timestamp>``, or ``-2``, ``-3``, ... when another run took that name first."""
        base, suffix = self.path, 1
        for parent in reversed(base.parents):
            if not parent.exists():
                with contextlib.suppress(FileExistsError):  # another run made it first: not ours
                    parent.mkdir()
                    self._made.append(parent)
        while True:
            folder = base if suffix == 1 else base.with_name(f"{base.name}-{suffix}")
            try:
                folder.mkdir()
            except FileExistsError:
                suffix += 1
                continue
            except OSError as error:
                raise UserError(f"cannot create the run folder {folder} ({error.strerror})") from error
            self.path = folder
            self._made.append(folder)
            return

    def _remove(self) -> None:
        if self._made:
            shutil.rmtree(self._made[0], ignore_errors=True)
        elif self._there_before is not None:
            for entry in self.path.iterdir():
                if entry.name in self._there_before:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()


def _lock(folder: Path) -> int | None:
    """An exclusive, non-blocking lock on ``folder``; the descriptor that holds it (None: no locking here)."""
    try:
        import fcntl
    except ImportError:
        return None
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(descriptor)
        raise UserError(
            f"{folder}: another backprop process is training into this folder; wait for it to finish,"
            " or choose another --out"
        ) from error
    return descriptor
