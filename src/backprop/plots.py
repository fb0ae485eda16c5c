"""Figures of a training run, saved as PNG files: curves, confusion matrix, weights, mistakes.

- ``plot_history(history, path)``: loss and accuracy per epoch, train against validation
  (``history_png(history)``: the same figure as PNG bytes, for a notebook)
- ``plot_confusion_matrix(labels, predictions, path)``: counts of (true, predicted) pairs
- ``plot_first_layer_weights(weight, path)``: what each first-layer unit or kernel looks for
- ``plot_misclassified(images, labels, predictions, path)``: the test images the model got wrong
- ``plot_regression(x, t, fit_x, fit_y, path)``: the seeds' polynomial fit, and its loss
- ``plot_throughput(batch_sizes, series, path)``: a benchmark sweep, samples/s against batch size

Every function draws on a ``matplotlib.figure.Figure`` with the Agg canvas and never imports
``matplotlib.pyplot``: it works without a display and leaves the user's backend alone. Each
writes its PNG atomically (a temporary file beside ``path``, then ``os.replace``), creates the
missing directories of ``path`` and returns ``path`` as a ``pathlib.Path``.

matplotlib is needed here only: ``import backprop`` does not import this module.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import validation
from .files import atomic_write

try:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator, NullLocator
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("backprop.plots needs matplotlib: pip install matplotlib") from error

PathLike = str | os.PathLike[str]

_DPI = 100
_MARKERS_UP_TO = 30  # draw a marker on every point of curves this short (one epoch is one point)
_DIVERGING = "RdBu_r"  # red positive, blue negative, white zero


# --- saving -------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG at ``path`` (atomically), creating missing folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        figure.savefig(file, format="png", dpi=_DPI)
    return path


# --- checking arguments -------------------------------------------------------------------


def _png_path(function: str, path: PathLike) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{function}: path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{function}: path must end in .png, got {str(path)!r}")
    return path


def _vector(function: str, name: str, values: ArrayLike, *, allow_empty: bool = False) -> np.ndarray:
    """A 1-D float array from ``values``; an ``(N, 1)`` column is accepted and flattened."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{function}: {name} must be 1-D, got shape {array.shape}")
    if not allow_empty and array.size == 0:
        raise ValueError(f"{function}: {name} must not be empty")
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise ValueError(f"{function}: {name} must hold numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def _class_labels(function: str, name: str, values: ArrayLike) -> np.ndarray:
    """Non-negative integer class labels ``(N,)``; floats are accepted when whole numbers."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"{function}: {name} must be 1-D class labels of shape (N,), got shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{function}: {name} must not be empty")
    if np.issubdtype(array.dtype, np.floating):
        if not (np.all(np.isfinite(array)) and np.all(array == np.round(array))):
            raise ValueError(f"{function}: {name} must be integer class labels, got non-integer values")
        array = array.astype(np.int64)
    elif not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{function}: {name} must be integer class labels, got dtype {array.dtype}")
    if array.min() < 0:
        raise ValueError(f"{function}: {name} must be non-negative, got {array.min()}")
    return array.astype(np.int64, copy=False)


def _same_length(function: str, names: str, first: np.ndarray, second: np.ndarray) -> None:
    if len(first) != len(second):
        raise ValueError(f"{function}: {names} must have the same length, got {len(first)} and {len(second)}")


# --- training curves ----------------------------------------------------------------------


def _curve(axes: Axes, values: np.ndarray, label: str, style: str = "-") -> None:
    epochs = np.arange(1, len(values) + 1)
    marker = "o" if len(values) <= _MARKERS_UP_TO else None
    axes.plot(epochs, values, style, marker=marker, markersize=4, label=f"{label} (last {values[-1]:.4g})")


def _history_panel(axes: Axes, history: Mapping[str, np.ndarray], key: str, title: str) -> None:
    if key in history:
        _curve(axes, history[key], "train")
    if f"val_{key}" in history:
        _curve(axes, history[f"val_{key}"], "validation", "--")
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.set_ylabel(key)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(True, alpha=0.3)
    axes.legend()


def plot_history(history: Mapping[str, Sequence[float]], path: PathLike) -> Path:
    """Loss (left) and accuracy (right) per epoch, train against validation; return the path.

    ``history`` holds per-epoch lists under ``"loss"``, ``"val_loss"``, ``"accuracy"`` and
    ``"val_accuracy"``; any may be missing or empty (a regression run has no accuracy), and a
    panel with nothing to show is left out. Other keys are ignored. Epochs count from 1.
    """
    path = _png_path("plot_history", path)
    return _save(_history_figure("plot_history", history), path)


def history_png(history: Mapping[str, Sequence[float]]) -> bytes:
    """``plot_history``'s figure as PNG bytes, for a notebook to show (``History._repr_png_``)."""
    buffer = io.BytesIO()
    _history_figure("history_png", history).savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _history_figure(function: str, history: Mapping[str, Sequence[float]]) -> Figure:
    if not isinstance(history, Mapping):
        raise TypeError(
            f"{function}: history must be a dict of per-epoch lists, got {type(history).__name__}"
        )
    keys = ("loss", "val_loss", "accuracy", "val_accuracy")
    curves = {}
    for key in keys:
        if history.get(key) is not None:
            values = _vector(function, f"history[{key!r}]", history[key], allow_empty=True)
            if values.size:
                curves[key] = values
    if not curves:
        raise ValueError(
            f"{function}: history has no non-empty list under any of {', '.join(keys)};"
            f" got keys {sorted(map(str, history))}"
        )
    panels = [
        (key, title)
        for key, title in (("loss", "loss"), ("accuracy", "accuracy"))
        if key in curves or f"val_{key}" in curves
    ]
    figure = _new_figure(5.5 * len(panels), 4.0)
    for axes, (key, title) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels):
        _history_panel(axes, curves, key, title)
    return figure


# --- confusion matrix ---------------------------------------------------------------------


def plot_confusion_matrix(
    labels: ArrayLike,
    predictions: ArrayLike,
    path: PathLike,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Counts of every (true, predicted) pair, one row per true class; return the path.

    ``labels`` and ``predictions`` are integer classes ``(N,)``. The classes are
    ``0 .. len(class_names) - 1`` when names are given, else ``0 .. max label or prediction``.
    Each cell shows its count (up to 30 classes); the title gives the overall accuracy.
    """
    function = "plot_confusion_matrix"
    path = _png_path(function, path)
    labels = _class_labels(function, "labels", labels)
    predictions = _class_labels(function, "predictions", predictions)
    _same_length(function, "labels and predictions", labels, predictions)
    largest = int(max(labels.max(), predictions.max()))
    if class_names is None:
        names = [str(k) for k in range(largest + 1)]
    else:
        if isinstance(class_names, str) or not isinstance(class_names, Sequence):
            raise TypeError(
                f"{function}: class_names must be a sequence of names, got {type(class_names).__name__}"
            )
        names = [str(name) for name in class_names]
        if largest >= len(names):
            raise ValueError(
                f"{function}: class {largest} appears in labels or predictions but class_names"
                f" has only {len(names)} names"
            )
    classes = len(names)

    counts = _confusion_counts(labels, predictions, classes)
    correct = int(np.trace(counts))
    total = len(labels)

    side = min(max(4.5, 0.45 * classes + 2.5), 16.0)
    figure = _new_figure(side + 1.0, side)
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues", vmin=0, interpolation="nearest")
    colour_bar = figure.colorbar(image, ax=axes, shrink=0.8, label="count")
    colour_bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if classes <= 30:
        threshold = counts.max() / 2
        fontsize = 10 if classes <= 12 else 7
        for (row, column), count in np.ndenumerate(counts):
            colour = "white" if count > threshold else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=colour, fontsize=fontsize)
    ticks = np.arange(classes) if classes <= 50 else np.arange(0, classes, math.ceil(classes / 50))
    axes.set_xticks(ticks, [names[k] for k in ticks], rotation=45 if max(map(len, names)) > 3 else 0)
    axes.set_yticks(ticks, [names[k] for k in ticks])
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"accuracy {correct / total:.1%} ({correct} / {total})")
    return _save(figure, path)


def _confusion_counts(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """``counts[i, j]`` = how many samples of true class ``i`` were predicted as ``j``."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels, predictions), 1)
    return counts


# --- first-layer weights ------------------------------------------------------------------


def plot_first_layer_weights(
    weight: ArrayLike,
    path: PathLike,
    image_shape: tuple[int, int] | None = None,
    dead: ArrayLike | None = None,
) -> Path:
    """Each first-layer unit's weights drawn as an image (at most 64); return the path.

    A Linear weight ``(out, in)`` gives one ``H x W`` image per output unit, with ``H x W``
    from ``image_shape`` or, when ``in`` is a perfect square (64, 784), ``sqrt(in)`` square.
    A Conv2d weight ``(c_O, c_I, h_K, w_K)`` gives each output channel's kernel, averaged over
    the ``c_I`` input channels (``image_shape``, the input's size, is then ignored). Colours
    share one scale centred at 0: red positive, blue negative. ``dead``, a boolean per unit
    (``backprop.activity.dead_units``), frames the dead units in black, captions them
    "dead" and counts them in the title.
    """
    function = "plot_first_layer_weights"
    path = _png_path(function, path)
    weight = np.asarray(weight)
    if not np.issubdtype(weight.dtype, np.number) or np.issubdtype(weight.dtype, np.complexfloating):
        raise ValueError(f"{function}: weight must hold real numbers, got dtype {weight.dtype}")
    weight = weight.astype(np.float64)
    if weight.size == 0:
        raise ValueError(f"{function}: weight must not be empty, got shape {weight.shape}")
    if not np.all(np.isfinite(weight)):
        raise ValueError(f"{function}: weight contains NaN or infinity")

    if weight.ndim == 2:
        units, features = weight.shape
        if image_shape is None:
            side = math.isqrt(features)
            if side * side != features:
                raise ValueError(
                    f"{function}: cannot draw {features} input features as a square image;"
                    f" pass image_shape=(H, W) with H * W == {features}"
                )
            image_shape = (side, side)
        image_shape = _image_shape(function, image_shape)
        if image_shape[0] * image_shape[1] != features:
            raise ValueError(
                f"{function}: image_shape {image_shape} has {image_shape[0] * image_shape[1]} pixels"
                f" but the weight has {features} input features (shape {weight.shape})"
            )
        images = weight.reshape(units, *image_shape)
        what = f"{units} unit{'s' if units != 1 else ''}, {image_shape[0]}×{image_shape[1]} each"
        order = "output units 0, 1, 2, ..."
    elif weight.ndim == 4:
        channels, inputs = weight.shape[:2]
        images = weight.mean(axis=1)
        what = f"{channels} kernel{'s' if channels != 1 else ''}, {weight.shape[2]}×{weight.shape[3]}"
        if inputs > 1:
            what += f", mean over {inputs} input channels"
        order = "output channels 0, 1, 2, ..."
    else:
        raise ValueError(
            f"{function}: weight must be a Linear weight (out, in) or a Conv2d weight"
            f" (c_O, c_I, h_K, w_K), got shape {weight.shape}"
        )

    total = len(images)
    if dead is not None:
        dead = np.asarray(dead, dtype=bool)
        if dead.shape != (total,):
            raise ValueError(
                f"{function}: dead must hold one boolean per unit, {total}, got shape {dead.shape}"
            )
    images = images[:64]
    shown = len(images)
    columns = math.ceil(math.sqrt(shown))
    rows = math.ceil(shown / columns)
    size = 0.9 if shown > 16 else 1.3  # inches per image
    scale = float(np.abs(images).max()) or 1.0

    shown_text = f"first {shown} of {what}" if total > shown else what
    captions = None if dead is None else ["dead" if is_dead else "" for is_dead in dead[:shown]]
    figure = _new_figure(max(columns * size + 1.8, 6.0), rows * size + (1.3 if dead is not None else 0.9))
    axes = figure.subplots()
    image = _image_grid(
        axes, images, columns, size, captions=captions, frame=True, cmap=_DIVERGING, vmin=-scale, vmax=scale
    )
    if dead is not None:
        _frame_dead(axes, images.shape[1:3], columns, size, dead[:shown])
    figure.colorbar(image, ax=axes, shrink=0.8 if rows > 2 else 1.0, label="weight")
    title = f"first-layer weights: {shown_text}\n({order}, row by row)"
    if dead is not None:
        count = int(dead.sum())
        title += (
            f"\n{count} of {total} dead: their ReLU never fires on the test data, so they never learn"
            if count
            else f"\nall {total} alive: each one's ReLU fires on some test data"
        )
    figure.suptitle(title)
    return _save(figure, path)


def _frame_dead(axes: Axes, tile: tuple[int, int], columns: int, size: float, dead: np.ndarray) -> None:
    """A thick black frame around each dead unit's tile, placed as ``_image_grid`` placed the tiles."""
    height, width = tile
    h, w = size * height / max(height, width), size * width / max(height, width)
    gap, band = 0.08 * size, 0.22
    for index in np.flatnonzero(dead):
        left = (index % columns) * (w + gap)
        top = (index // columns) * (h + band + gap) + band
        axes.add_patch(Rectangle((left, top), w, h, fill=False, edgecolor="black", linewidth=2.0))


def _image_grid(
    axes: Axes,
    tiles: np.ndarray,
    columns: int,
    size: float,
    captions: Sequence[str] | None = None,
    frame: bool = False,
    **imshow: Any,
) -> AxesImage:
    """Draw tiles ``(n, H, W[, 3])`` row by row on one Axes, ``size`` units on their longer side.

    Each tile is its own ``imshow`` at its own place (``extent``) on a single Axes: one Axes
    per tile would be several times slower. ``captions`` go above the tiles; ``frame`` outlines
    each tile (so that a tile of near-white values still shows). Return the last image.
    """
    height, width = tiles.shape[1:3]
    h, w = size * height / max(height, width), size * width / max(height, width)
    gap = 0.08 * size
    band = 0.22 if captions is not None else 0.0  # room for one line of 8-point text
    image: AxesImage | None = None
    for index, tile in enumerate(tiles):
        left = (index % columns) * (w + gap)
        top = (index // columns) * (h + band + gap) + band
        image = axes.imshow(
            tile, extent=(left, left + w, top + h, top), interpolation="nearest", aspect="auto", **imshow
        )
        if frame:
            axes.add_patch(Rectangle((left, top), w, h, fill=False, edgecolor="0.6", linewidth=0.6))
        if captions is not None:
            axes.text(left + w / 2, top - 0.04, captions[index], ha="center", va="bottom", fontsize=8)
    rows = math.ceil(len(tiles) / columns)
    axes.set_xlim(-gap / 2, columns * (w + gap) - gap / 2)
    axes.set_ylim(rows * (h + band + gap) - gap / 2, -gap / 2)
    axes.set_aspect("equal")
    axes.set_axis_off()
    assert image is not None, "no tiles to draw"
    return image


def _image_shape(function: str, image_shape: object) -> tuple[int, int]:
    if (
        not isinstance(image_shape, Sequence)
        or len(image_shape) != 2
        or not all(isinstance(n, (int, np.integer)) and n > 0 for n in image_shape)
    ):
        raise ValueError(f"{function}: image_shape must be two positive integers (H, W), got {image_shape!r}")
    return int(image_shape[0]), int(image_shape[1])


# --- misclassified images -----------------------------------------------------------------


def _as_images(function: str, images: ArrayLike) -> np.ndarray:
    """``(N, H, W)`` grey or ``(N, H, W, 3)`` colour images from the layouts we accept."""
    array = np.asarray(images)
    if not np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.bool_):
        raise ValueError(f"{function}: images must hold numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if array.ndim == 2:
        side = math.isqrt(array.shape[1])
        if side * side != array.shape[1]:
            raise ValueError(
                f"{function}: flat images (N, D) need D a perfect square (64, 784), got D = {array.shape[1]}"
            )
        return array.reshape(len(array), side, side)
    if array.ndim == 3:
        return array
    if array.ndim == 4 and array.shape[1] == 1:
        return array[:, 0]
    if array.ndim == 4 and array.shape[1] == 3:
        return array.transpose(0, 2, 3, 1)
    raise ValueError(
        f"{function}: images must be (N, H, W), (N, 1, H, W), (N, 3, H, W) or flat (N, D),"
        f" got shape {array.shape}"
    )


def _confidences(function: str, probabilities: ArrayLike, predictions: np.ndarray) -> np.ndarray:
    """The probability of each predicted class, from ``(N,)`` values or ``(N, C)`` rows."""
    array = np.asarray(probabilities, dtype=np.float64)
    if array.ndim == 2:
        if len(array) != len(predictions):
            raise ValueError(
                f"{function}: probabilities and predictions must have the same length,"
                f" got {len(array)} and {len(predictions)}"
            )
        if predictions.max() >= array.shape[1]:
            raise ValueError(
                f"{function}: prediction {predictions.max()} is not a column of probabilities"
                f" of shape {array.shape}"
            )
        return array[np.arange(len(array)), predictions]
    if array.ndim == 1:
        _same_length(function, "probabilities and predictions", array, predictions)
        return array
    raise ValueError(
        f"{function}: probabilities must be (N,) (of the predicted class) or (N, C), got shape {array.shape}"
    )


def plot_misclassified(
    images: ArrayLike,
    labels: ArrayLike,
    predictions: ArrayLike,
    path: PathLike,
    probabilities: ArrayLike | None = None,
    max_images: int = 36,
) -> Path:
    """A grid of the first ``max_images`` images with ``predictions != labels``; return the path.

    ``images`` are ``(N, H, W)``, ``(N, 1, H, W)``, ``(N, 3, H, W)`` or flat ``(N, D)`` with
    ``D`` a perfect square. Titles read ``true 3 / predicted 8``, followed by the predicted
    class's probability when ``probabilities`` (``(N,)`` or ``(N, C)``) is given. With no
    mistakes the figure says so.
    """
    function = "plot_misclassified"
    path = _png_path(function, path)
    validation.positive_integer(function, "max_images", max_images)
    images = _as_images(function, images)
    labels = _class_labels(function, "labels", labels)
    predictions = _class_labels(function, "predictions", predictions)
    _same_length(function, "labels and predictions", labels, predictions)
    _same_length(function, "images and labels", images, labels)
    confidences = None if probabilities is None else _confidences(function, probabilities, predictions)

    wrong = np.flatnonzero(labels != predictions)
    if wrong.size == 0:
        figure = _new_figure(5.0, 2.0)
        figure.text(
            0.5,
            0.5,
            f"No misclassified images:\nall {len(labels)} predictions are correct.",
            ha="center",
            va="center",
            fontsize=13,
        )
        return _save(figure, path)

    chosen = wrong[:max_images]
    pictures = images[chosen]
    if pictures.ndim == 4:  # colour: stretch each image to [0, 1], which imshow needs for RGB
        low = pictures.min(axis=(1, 2, 3), keepdims=True)
        span = pictures.max(axis=(1, 2, 3), keepdims=True) - low
        pictures = (pictures - low) / np.where(span > 0, span, 1.0)
    captions = []
    for index in chosen:
        caption = f"true {labels[index]} / predicted {predictions[index]}"
        if confidences is not None:
            caption += f" ({confidences[index]:.2f})"
        captions.append(caption)

    columns = min(len(chosen), 6)
    rows = math.ceil(len(chosen) / columns)
    size = 1.8  # inches per image, wide enough for its caption
    figure = _new_figure(max(columns * 1.95, 5.0), rows * 2.2 + 0.5)
    axes = figure.subplots()
    _image_grid(axes, pictures, columns, size, captions, cmap="gray")
    shown = f"first {len(chosen)} of the " if len(chosen) < len(wrong) else ""
    figure.suptitle(f"{shown}{len(wrong)} misclassified images, of {len(labels)}")
    return _save(figure, path)


# --- regression ---------------------------------------------------------------------------


def plot_regression(
    x: ArrayLike,
    t: ArrayLike,
    fit_x: ArrayLike,
    fit_y: ArrayLike | Mapping[str, ArrayLike],
    path: PathLike,
    history: Mapping[str, Sequence[float]] | Sequence[float] | None = None,
    reference_loss: float | None = None,
) -> Path:
    """Data points ``(x, t)`` and the fitted curve(s) over ``fit_x``; return the path.

    All arrays are 1-D (an ``(N, 1)`` column is accepted). ``fit_y`` is one curve, or a mapping
    label -> curve to compare several fits. With ``history`` (a mapping label -> losses per
    epoch, where the keys ``"loss"`` and ``"val_loss"`` read "train" and "validation", or a
    plain list of losses) a second panel shows the loss per epoch on a log scale (linear if a
    value is zero or negative), with ``reference_loss`` as a dotted line (e.g. least squares).
    """
    function = "plot_regression"
    path = _png_path(function, path)
    x = _vector(function, "x", x)
    t = _vector(function, "t", t)
    _same_length(function, "x and t", x, t)
    fit_x = _vector(function, "fit_x", fit_x)
    several = isinstance(fit_y, Mapping)
    fits: Mapping[str, ArrayLike] = fit_y if isinstance(fit_y, Mapping) else {"fit": fit_y}
    curves = {}
    for label, values in fits.items():
        curves[str(label)] = _vector(function, f"fit_y[{label!r}]" if several else "fit_y", values)
        _same_length(function, "fit_x and fit_y", fit_x, curves[str(label)])

    losses: dict[str, np.ndarray] = {}
    if history is not None:
        if isinstance(history, Mapping):
            names = {"loss": "train", "val_loss": "validation"}
            for key, values in history.items():
                if values is not None:
                    values = _vector(function, f"history[{key!r}]", values, allow_empty=True)
                    if values.size:
                        losses[names.get(str(key), str(key))] = values
            if not losses:
                raise ValueError(
                    f"{function}: history has no non-empty list of losses;"
                    f" got keys {sorted(map(str, history))}"
                )
        else:
            losses["train"] = _vector(function, "history", history)

    figure = _new_figure(11.0 if losses else 6.0, 4.2)
    panels = figure.subplots(1, 2 if losses else 1, squeeze=False)[0]
    axes = panels[0]
    order = np.argsort(fit_x, kind="stable")
    axes.scatter(x, t, s=18, alpha=0.7, label="data", zorder=2)
    for index, (label, curve) in enumerate(curves.items()):
        style = "-" if index == 0 else "--"
        color = f"C{index + 3}"
        axes.plot(fit_x[order], curve[order], style, color=color, linewidth=2, label=label, zorder=3)
    axes.set_title("data and fitted curve" if len(curves) == 1 else "data and fitted curves")
    axes.set_xlabel("x")
    axes.set_ylabel("t")
    axes.grid(True, alpha=0.3)
    axes.legend()
    if losses:
        axes = panels[1]
        for index, (label, values) in enumerate(losses.items()):
            _curve(axes, values, label, "-" if index == 0 else "--")
        if reference_loss is not None:
            label = f"reference ({reference_loss:.4g})"
            axes.axhline(reference_loss, color="0.5", linestyle=":", label=label)
        finite = np.concatenate([v[np.isfinite(v)] for v in losses.values()])
        if finite.size and np.all(finite > 0) and (reference_loss is None or reference_loss > 0):
            axes.set_yscale("log")
        axes.set_title("training loss")
        axes.set_xlabel("epoch")
        axes.set_ylabel("loss")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    return _save(figure, path)


# --- throughput ---------------------------------------------------------------------------


def plot_throughput(batch_sizes: ArrayLike, series: Mapping[str, Sequence[float]], path: PathLike) -> Path:
    """Samples per second against batch size (log x), one line per label; return the path.

    ``series`` maps a label (``"float32"``, ``"float64"``, ...) to one throughput per batch
    size; NaN leaves a gap for a point that was not measured.
    """
    function = "plot_throughput"
    path = _png_path(function, path)
    batch_sizes = _vector(function, "batch_sizes", batch_sizes)
    if not np.all(np.isfinite(batch_sizes) & (batch_sizes > 0)):
        raise ValueError(f"{function}: batch_sizes must be positive, got {batch_sizes.tolist()}")
    if not isinstance(series, Mapping):
        raise TypeError(
            f"{function}: series must be a dict label -> samples/s list, got {type(series).__name__}"
        )
    if not series:
        raise ValueError(f"{function}: series must have at least one label, got an empty dict")
    lines = {}
    for label, given in series.items():
        values = _vector(function, f"series[{label!r}]", given)
        if len(values) != len(batch_sizes):
            raise ValueError(
                f"{function}: series[{label!r}] must have one value per batch size,"
                f" got {len(values)} values for {len(batch_sizes)} batch sizes"
            )
        if np.any(values[~np.isnan(values)] < 0):
            raise ValueError(
                f"{function}: series[{label!r}] must be non-negative samples/s, got {values.tolist()}"
            )
        lines[str(label)] = values

    figure = _new_figure(6.5, 4.2)
    axes = figure.subplots()
    order = np.argsort(batch_sizes, kind="stable")
    for label, values in lines.items():
        axes.plot(batch_sizes[order], values[order], marker="o", label=label)
    axes.set_xscale("log", base=2)
    ticks = np.unique(batch_sizes)
    axes.set_xticks(ticks, [f"{b:g}" for b in ticks], rotation=45 if len(ticks) > 10 else 0)
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_ylim(bottom=0)
    axes.set_xlabel("batch size")
    axes.set_ylabel("samples / s")
    axes.set_title("throughput")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(figure, path)
