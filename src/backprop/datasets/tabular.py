"""Numeric tables from CSV files: one column is the target, the others are the features.

Every feature cell must be a finite number in ``float()`` syntax; a cell that is not (text, an
empty cell, ``nan``, ``inf``) gives a ``ValueError`` naming the file, the line and the column,
since a NaN read as a number only shows up much later, as a loss that became NaN. The target
column is numbers too, or, with ``target_dtype=str``, text (class names such as ``cat``), where
an empty cell, ``nan`` and ``inf`` are still refused: they are missing values, not classes.
Blank lines are skipped. Read with the ``csv`` module, so quoted fields work; no pandas needed.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..dtypes import resolve_dtype
from ..paths import check_readable_file

__all__ = ["load_csv", "reads_as_number"]


def load_csv(
    path: str | os.PathLike[str],
    target: str | int,
    delimiter: str = ",",
    header: bool = True,
    dtype: DTypeLike | None = None,
    target_dtype: DTypeLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a numeric CSV file into features and a target column.

    Parameters
    ----------
    path : str or os.PathLike
        The file, UTF-8 (a byte-order mark is ignored).
    target : str or int
        The target column: its name in the header, or its index (negative counts from the
        end, so ``-1`` is the last column).
    delimiter : str
        The field separator, one character (``","``, ``";"``, ``"\\t"`` ...).
    header : bool
        Whether the first non-blank line holds column names (required when ``target`` is a
        name).
    dtype : float32 or float64, optional
        dtype of the features; None means the default dtype (float32 unless changed with
        ``backprop.set_default_dtype``).
    target_dtype : dtype or str, optional
        dtype of the target; None means the features' dtype. Give ``np.int64`` for class
        labels (each value must then be a whole number), or ``str`` to keep each target cell
        as its text (stripped of surrounding spaces), for class names.

    Returns
    -------
    features : numpy.ndarray
        Shape ``(N, D)``: every column but the target, in file order.
    target : numpy.ndarray
        Shape ``(N,)``; a unicode string array with ``target_dtype=str``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a readable regular file (a folder, a FIFO, a link loop).
        If a cell is not a finite number, a row has the wrong number of fields, the file holds no
        data, or ``target`` names no column (the message lists the columns there are).
    """
    path = Path(path)
    dtype = resolve_dtype(dtype, "load_csv")
    as_text = target_dtype is str or (target_dtype is not None and np.dtype(target_dtype).kind == "U")
    if not as_text:
        target_dtype = dtype if target_dtype is None else np.dtype(target_dtype)
    if isinstance(target, bool) or not isinstance(target, (str, int, np.integer)):
        raise TypeError(
            f"load_csv({path}): target must be a column name or index, got {target!r}"
        )

    check_readable_file(path)  # before open: a FIFO would block it for ever
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file, delimiter=delimiter)
        rows = list(_rows(path, reader))
    names: list[str] | None = None
    if header:
        if not rows:
            raise ValueError(f"{path}: the file is empty; expected a header line")
        names = [cell.strip() for cell in rows[0][1]]
        rows = rows[1:]
    width = len(names) if names is not None else (len(rows[0][1]) if rows else None)
    if width is None:
        raise ValueError(f"{path}: the file holds no rows")
    column = _target_index(path, target, names, width)
    if not rows:
        raise ValueError(f"{path}: the file holds a header but no data rows")
    values: list[list[float]] = []
    labels: list[str] = []
    for line, row in rows:
        if len(row) != width:
            raise ValueError(f"{path}, line {line}: expected {width} fields, found {len(row)}")
        if as_text:
            label = row[column].strip()
            if not label or (reads_as_number(label) and not math.isfinite(float(label))):
                raise ValueError(
                    f"{path}, line {line}, column {_column_name(names, column)}: the target is "
                    f"{row[column]!r}, a missing value; expected a number or a class name"
                )
            labels.append(label)
            row = [*row[:column], "0", *row[column + 1 :]]
        values.append(_numbers(path, line, row, names))

    table = np.array(values, dtype=np.float64)
    features = np.delete(table, column, axis=1).astype(dtype)
    if as_text:
        return features, np.array(labels, dtype=str)
    target_values = table[:, column]
    if np.issubdtype(target_dtype, np.integer):
        whole = np.isfinite(target_values) & (target_values == np.round(target_values))
        bad = np.flatnonzero(~whole)
        if bad.size:
            raise ValueError(
                f"{path}: target column {_column_name(names, column)} must hold whole numbers "
                f"for target_dtype {target_dtype}, found {target_values[bad[0]]} in data row "
                f"{bad[0] + 1}"
            )
    return features, target_values.astype(target_dtype)


def _numbers(path: Path, line: int, row: list[str], names: list[str] | None) -> list[float]:
    """The row's cells as finite floats, or a ValueError naming the line and the column."""
    try:
        numbers = [float(cell) for cell in row]
    except ValueError:
        column = next(i for i, cell in enumerate(row) if not reads_as_number(cell))
        raise ValueError(
            f"{path}, line {line}, column {_column_name(names, column)}: "
            f"expected a number, found {row[column]!r}"
        ) from None
    if not all(map(math.isfinite, numbers)):
        column = next(i for i, number in enumerate(numbers) if not math.isfinite(number))
        raise ValueError(
            f"{path}, line {line}, column {_column_name(names, column)}: "
            f"expected a finite number, found {row[column]!r}"
        )
    return numbers


def _rows(path: Path, reader: Any) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows with their line numbers; undecodable bytes or a broken quote name the file."""
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield reader.line_num, row
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start} cannot be decoded)") from None
    except csv.Error as error:
        raise ValueError(f"{path}, line {reader.line_num}: not a readable CSV row ({error})") from None


def reads_as_number(cell: str) -> bool:
    """Whether ``cell`` reads as a number in ``float()`` syntax (``nan`` and ``inf`` do)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _column_name(names: list[str] | None, index: int) -> str:
    if names is None:
        return str(index)
    return f"{index} ({names[index]!r})"


def _target_index(path: Path, target: str | int, names: list[str] | None, width: int) -> int:
    """The index of the target column, checked against the columns the file has."""
    if isinstance(target, str):
        if names is None:
            raise ValueError(
                f"load_csv({path}): target {target!r} is a column name but header=False; "
                "give a column index or set header=True"
            )
        matches = [i for i, name in enumerate(names) if name == target]
        if not matches:
            raise ValueError(
                f"load_csv({path}): no column named {target!r}; the columns are "
                + ", ".join(repr(name) for name in names)
            )
        if len(matches) > 1:
            raise ValueError(
                f"load_csv({path}): {len(matches)} columns are named {target!r} "
                f"(indices {matches}); give the index instead"
            )
        return matches[0]
    if not -width <= target < width:
        raise ValueError(
            f"load_csv({path}): target column index {target} is out of range for "
            f"{width} columns (valid: {-width} to {width - 1})"
        )
    return int(target) % width
