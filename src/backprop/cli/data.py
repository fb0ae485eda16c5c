"""The ``--dataset`` option: ``backprop.runs.data`` with the command line's names and errors.

Reading, splitting and preprocessing a data set is library code (``backprop.runs.data``, the
``Preprocessing`` of ``backprop.runs.preprocessing``); it raises ValueError in the options'
words, and this module makes that a ``UserError``. What is left here belongs to the command
line: ``--task``'s spellings, and where ``evaluate``/``report`` look for MNIST when no
``--data-dir`` is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..runs import data as run_data
from ..runs.data import DATASET_HELP, MAX_TARGET, Dataset, absolute_spec, digest, pixels
from ..runs.preprocessing import Preprocessing
from .arguments import TASK_NAMES
from .errors import UserError

__all__ = [
    "DATASET_HELP",
    "MAX_TARGET",
    "Dataset",
    "absolute_spec",
    "digest",
    "load",
    "pixels",
    "recorded_data_dir",
]


def load(
    spec: str,
    *,
    data_dir: str | None,
    seed: int,
    test_fraction: float,
    val_fraction: float,
    dtype: np.dtype,
    target: str | None = None,
    task: str = "auto",
    preprocessing: Preprocessing | None = None,
    input_shape: tuple[int, ...] | None = None,
    data_dir_origin: str = "--data-dir",
) -> Dataset:
    """``backprop.runs.data.load`` with ``--task``'s spellings (``arguments.TASK_NAMES``, the older
    ones of saved checkpoints too); its ValueError is the user's."""
    try:
        return run_data.load(
            spec,
            data_dir=data_dir,
            seed=seed,
            test_fraction=test_fraction,
            val_fraction=val_fraction,
            dtype=dtype,
            target=target,
            task=TASK_NAMES.get(task, task),
            preprocessing=preprocessing,
            input_shape=input_shape,
            data_dir_origin=data_dir_origin,
        )
    except ValueError as error:
        raise UserError(str(error)) from error


def recorded_data_dir(given: str | None, record: dict[str, Any], run: str) -> tuple[str | None, str]:
    """``--data-dir`` if given, else the directory ``train`` read MNIST from; and which it was."""
    if given is not None or record.get("data_dir") is None:
        return given, "--data-dir"
    return record["data_dir"], f"where {run} was trained from; give --data-dir if it moved"
