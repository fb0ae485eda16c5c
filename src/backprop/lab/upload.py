"""A learner's own points for the lab: a CSV of two numeric columns and a label column.

The file is read by ``datasets.load_csv``, the reader of ``backprop train --csv``, so a bad file
gets the same clear error (the line, the column, the cell found), naming the file by the name
it was uploaded under. The separator is the first line's comma, else its semicolon, else its
tab. A first line whose first two cells are both not numbers is a header. The label column
holds classes (2 to ``MAX_CLASSES`` distinct values, names or numbers; numbers are classes by
value, so ``1`` and ``1.0`` are one), or, where it holds more distinct numbers, a regression target.

The points are moved into the lab's plane: centred, and scaled by one factor for both axes (so
shapes keep their proportions) to fill ``[-5, 5]``; a regression target is scaled into
``[-1, 1]``. ``Upload`` keeps the factors so the page can say what was done.
"""

from __future__ import annotations

import functools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets.tabular import load_csv, reads_as_number
from .session import MAX_POINTS

__all__ = ["MAX_CLASSES", "MAX_UPLOAD_BYTES", "Upload", "read_upload"]

MAX_CLASSES = 8
MAX_UPLOAD_BYTES = 256 * 1024  # 2,000 rows of three numbers take under 100 KB
HALF_WIDTH = 5.0  # the plane is [-6, 6]; points fill [-5, 5], as the Playground's do


@dataclass(frozen=True)
class Upload:
    """The uploaded points, in the plane, and how they were moved there."""

    name: str
    points: np.ndarray  # (N, 2) float32
    targets: np.ndarray  # (N,) int64 labels, or (N, 1) float32 for a regression
    classes: tuple[str, ...]  # the class names in label order; () for a regression
    centre: tuple[float, float]
    scale: float  # plane = (point - centre) * scale
    target_scale: float = 1.0  # a regression's targets are the label column times this
    header: bool = True  # whether the file's first line was a header
    delimiter: str = ","  # the file's separator: ",", ";" or a tab


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name or "upload.csv").name)[:80].lstrip(".")
    return stem or "upload.csv"


def read_upload(name: str, text: str) -> Upload:
    """Parse the CSV ``text`` uploaded as ``name``; ValueError with a clear message if it is bad."""
    shown = _safe_name(name)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_UPLOAD_BYTES:
        raise ValueError(
            f"{shown}: over {MAX_UPLOAD_BYTES // 1024} KiB; the lab takes up to {MAX_POINTS} points"
        )
    first = next((line for line in text.splitlines() if line.strip()), "")
    # a spreadsheet saved in a comma-decimal locale separates with ";", some with tabs
    delimiter = next((mark for mark in (",", ";", "\t") if mark in first), ",")
    cells = [cell.strip() for cell in first.split(delimiter)]
    header = not any(reads_as_number(cell) for cell in cells[:2])  # a typo in a first row is still an error
    with tempfile.TemporaryDirectory(prefix="backprop-lab-") as folder:
        path = Path(folder) / shown
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            features, labels = load_csv(
                path, target=-1, delimiter=delimiter, header=header, dtype=np.float64, target_dtype=str
            )
        except ValueError as error:
            raise ValueError(str(error).replace(f"{folder}/", "")) from None
    if features.shape[1] != 2:
        raise ValueError(
            f"{shown}: expected 3 columns (x1, x2 and the label, last), found {features.shape[1] + 1}"
        )
    if not 10 <= len(features) <= MAX_POINTS:
        raise ValueError(f"{shown}: the lab takes 10 to {MAX_POINTS} points, found {len(features)}")
    low, high = features.min(axis=0), features.max(axis=0)
    centre = low / 2 + high / 2  # halves first: -1e308 to 1e308 does not overflow
    half = float(max((high / 2 - low / 2).max(), 1e-300))
    points = ((features - centre) * (HALF_WIDTH / half)).astype(np.float32)
    placed = functools.partial(
        Upload, centre=(float(centre[0]), float(centre[1])), scale=HALF_WIDTH / half, header=header,
        delimiter=delimiter,
    )
    texts = labels.tolist()
    numeric = all(reads_as_number(label) for label in texts)
    # numbers are classes by value ("1" and "1.0" are one class, named as first written)
    keys: list[float | str] = [float(label) + 0.0 for label in texts] if numeric else texts
    names = {key: label for key, label in reversed(list(zip(keys, texts, strict=True)))}
    order = sorted(names)  # all numbers or all text
    if len(order) < 2:
        raise ValueError(f"{shown}: the label column holds one value ({texts[0]!r}); a problem needs two")
    if len(order) <= MAX_CLASSES:
        index = {key: k for k, key in enumerate(order)}
        targets = np.array([index[key] for key in keys], dtype=np.int64)
        return placed(shown, points, targets, tuple(names[key] for key in order))
    if not numeric:
        raise ValueError(
            f"{shown}: the label column holds {len(order)} classes; the lab takes 2 to {MAX_CLASSES} classes,"
            " or numbers for a regression"
        )
    values = np.array(keys, dtype=np.float64)
    span = float(max(np.abs(values).max(), 1e-300))
    scaled = (values / span).astype(np.float32).reshape(-1, 1)
    return placed(shown, points, scaled, (), target_scale=1 / span)
