"""The run folder of one ``backprop train``: named at the start, made when there is something to
write, and taken away again if the run fails.

A mistake (a bad data set, a missing file, a divergence) or Ctrl-C must not leave an empty
``runs/<timestamp>`` behind for each try: ``removed_on_failure`` deletes the folders this run
created and, in a folder that was already there, the files it added.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import UserError


class RunFolder:
    """``runs/<timestamp>`` (or ``--out``), checked now, created by ``create``."""

    def __init__(self, requested: str | None) -> None:
        if requested is None:
            base = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
            folder, suffix = base, 1
            while folder.exists():
                suffix += 1
                folder = base.with_name(f"{base.name}-{suffix}")
        else:
            folder = Path(requested)
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--out {folder}: expected a folder for the run, but it is a file")
        existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
        if not os.access(existing, os.W_OK | os.X_OK):
            raise UserError(f"--out {folder}: cannot create the run folder ({existing} is not writable)")
        self.path = folder
        self._made: list[Path] = []  # the folders this run created, outermost first
        self._there_before: set[str] | None = None  # the entries of a folder that existed

    def create(self) -> Path:
        """Make the folder (and missing parents) once; return its path."""
        if self._there_before is None and not self._made:
            missing = [p for p in (*reversed(self.path.parents), self.path) if not p.exists()]
            if not missing:
                self._there_before = {entry.name for entry in self.path.iterdir()}
            try:
                for folder in missing:
                    folder.mkdir()
                    self._made.append(folder)
            except OSError as error:
                raise UserError(
                    f"--out {self.path}: cannot create the run folder ({error.strerror})"
                ) from error
        return self.path

    @contextlib.contextmanager
    def removed_on_failure(self) -> Iterator[RunFolder]:
        """On any exception (Ctrl-C too) undo what ``create`` and the writes since made."""
        try:
            yield self
        except BaseException:
            self._remove()
            raise

    def _remove(self) -> None:
        if self._made:
            shutil.rmtree(self._made[0], ignore_errors=True)
        elif self._there_before is not None:
            for entry in self.path.iterdir():
                if entry.name in self._there_before:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
