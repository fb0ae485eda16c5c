"""Finding a model from a run folder or a file, with what ``train`` recorded about it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import backprop as bp

from .errors import UserError

RECORD_KEYS = ("dataset", "task", "input_shape", "outputs", "preprocessing", "hyperparameters")


def load_run(run_or_model: str | Path) -> tuple[bp.Layer, dict[str, Any]]:
    """The model in ``RUN/model.safetensors`` (or the file itself) and its ``train`` record."""
    path = Path(run_or_model)
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.exists():
        raise UserError(f"{path}: no such model file (give a run folder or a .safetensors file)")
    try:
        model = bp.load(path)
        record = bp.io.load_metadata(path)["user"]
    except (OSError, ValueError) as error:
        raise UserError(str(error)) from error
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        raise UserError(f"{path}: not written by backprop train (its metadata lacks {', '.join(missing)})")
    return model, record
