"""A learner's own points for the lab: a CSV of two numeric columns and a label column.

The file is read by ``datasets.load_csv``, the reader of ``backprop train --csv``, so a bad file
gets the same clear error (the line, the column, the cell found), naming the file by the name
it was uploaded under. A first line whose first two cells are both not numbers is a header. The
label column holds classes (2 to ``MAX_CLASSES`` distinct values, names or numbers), or, where
it holds more distinct numbers than that, a regression target.

The points are moved into the lab's plane: centred, and scaled by one factor for both axes (so
shapes keep their proportions) to fill ``[-5, 5]``; a regression target is scaled into
``[-1, 1]``. ``Upload`` keeps the factors so the page can say what was done.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets.tabular import is_number, load_csv
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
    cells = [cell.strip() for cell in first.split(",")]
    header = not any(is_number(cell) for cell in cells[:2])  # a typo in a first data row is still an error
    with tempfile.TemporaryDirectory(prefix="backprop-lab-") as folder:
        path = Path(folder) / shown
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            features, labels = load_csv(path, target=-1, header=header, dtype=np.float64, target_dtype=str)
        except ValueError as error:
            raise ValueError(str(error).replace(f"{folder}/", "")) from None
    if features.shape[1] != 2:
        raise ValueError(
            f"{shown}: expected 3 columns (x1, x2 and the label, last), found {features.shape[1] + 1}"
        )
    if not 10 <= len(features) <= MAX_POINTS:
        raise ValueError(f"{shown}: the lab takes 10 to {MAX_POINTS} points, found {len(features)}")
    low, high = features.min(axis=0), features.max(axis=0)
    centre = (low + high) / 2
    half = float(max((high - low).max() / 2, 1e-12))
    points = ((features - centre) * (HALF_WIDTH / half)).astype(np.float32)
    names = sorted(set(labels.tolist()), key=lambda label: (not is_number(label), _as_key(label)))
    if len(names) < 2:
        raise ValueError(
            f"{shown}: the label column holds one value ({names[0]!r}); a problem needs at least two"
        )
    if len(names) <= MAX_CLASSES:
        index = {label: k for k, label in enumerate(names)}
        targets = np.array([index[label] for label in labels.tolist()], dtype=np.int64)
        return Upload(
            shown, points, targets, tuple(names), (float(centre[0]), float(centre[1])), HALF_WIDTH / half,
            header=header,
        )
    if not all(is_number(label) for label in names):
        raise ValueError(
            f"{shown}: the label column holds {len(names)} classes; the lab takes 2 to {MAX_CLASSES} classes,"
            " or numbers for a regression"
        )
    values = labels.astype(np.float64)
    span = float(max(np.abs(values).max(), 1e-12))
    scaled = (values / span).astype(np.float32).reshape(-1, 1)
    return Upload(
        shown, points, scaled, (), (float(centre[0]), float(centre[1])), HALF_WIDTH / half, 1 / span, header
    )


def _as_key(label: str) -> float | str:
    return float(label) if is_number(label) else label
