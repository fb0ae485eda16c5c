"""Finding a model from a run folder or a file: ``backprop.runs`` with the command line's errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import backprop as bp

from ..runs import RECORD_KEYS, Run
from ..runs import load_run as load_library_run
from .errors import UserError


def open_model(run_or_model: str | Path) -> Run:
    """Any model file the library writes, with what its file does not record assumed (``run.assumed``);
    a model whose parameters are not finite is refused, as its every answer would be NaN."""
    try:
        run = load_library_run(run_or_model)
        run.check_finite()
    except ValueError as error:
        raise UserError(str(error)) from error
    return run


def note_assumptions(run: Run, command: str) -> None:
    """Say on stderr what was assumed about a model file without ``train``'s record.

    Commands call this once their inputs are checked, so that a mistake still ends in one line.
    """
    if run.assumed:
        print(
            f"backprop {command}: note: {run.path} does not record how it was trained (it was not written"
            f" by backprop train); assuming {', '.join(run.assumed)}",
            file=sys.stderr,
        )


def load_run(run_or_model: str | Path) -> tuple[bp.Layer, dict[str, Any]]:
    """The model in ``RUN/model.safetensors`` (or the file itself) and its whole ``train`` record."""
    try:
        run = load_library_run(run_or_model)
    except ValueError as error:
        raise UserError(str(error)) from error
    missing = [key for key in RECORD_KEYS if key not in bp.io.load_metadata(run.path)["user"]]
    if missing:
        raise UserError(
            f"{run.path}: not written by backprop train (its metadata lacks {', '.join(missing)})"
        )
    return run.model, run.record
