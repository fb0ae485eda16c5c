import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image
from matplotlib.figure import Figure

from backprop import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DPI = 100  # plots.py saves every figure at 100 dots per inch


def read_png(path, min_bytes=3000):
    """Check that ``path`` is a real, non-trivial PNG; return its pixels (H, W, channels)."""
    path = Path(path)
    assert path.is_file()
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    # Not a blank canvas: some pixels are darker than the white background.
    assert pixels[..., :3].min() < 0.5
    return pixels


def only_pngs(directory):
    """Every file left in ``directory`` (recursively) is a PNG: no temporary files."""
    leftovers = [p for p in Path(directory).rglob("*") if p.is_file() and p.suffix != ".png"]
    assert leftovers == []


HISTORY = {
    "loss": [2.0, 1.2, 0.8, 0.6, 0.5],
    "val_loss": [2.1, 1.4, 1.0, 0.9, 0.9],
    "accuracy": [0.3, 0.6, 0.75, 0.82, 0.86],
    "val_accuracy": [0.28, 0.55, 0.7, 0.74, 0.75],
}


# --- plot_history ---------------------------------------------------------------------------


def test_history_two_panels(tmp_path):
    path = tmp_path / "history.png"
    assert plots.plot_history(HISTORY, path) == path
    assert read_png(path).shape[:2] == (4 * DPI, 11 * DPI)  # two 5.5-inch panels
    only_pngs(tmp_path)


def test_history_of_a_regression_run_has_one_panel(tmp_path):
    # No validation, and accuracy keys present but empty: only the loss panel is drawn.
    history = {"loss": np.linspace(1.0, 0.1, 50), "accuracy": [], "val_accuracy": [], "lr": [0.1] * 50}
    path = plots.plot_history(history, str(tmp_path / "loss.png"))
    assert isinstance(path, Path)
    assert read_png(path).shape[:2] == (4 * DPI, int(5.5 * DPI))


def test_history_of_one_epoch_with_validation_accuracy_only(tmp_path):
    path = plots.plot_history({"val_accuracy": [0.9]}, tmp_path / "one.png")
    assert read_png(path, min_bytes=1000).shape[:2] == (4 * DPI, int(5.5 * DPI))


def test_history_creates_directories_and_overwrites(tmp_path):
    path = tmp_path / "runs" / "exp1" / "history.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"an old file")
    plots.plot_history(HISTORY, path)
    read_png(path)
    plots.plot_history({"loss": [1.0, 0.5]}, tmp_path / "new" / "dir" / "history.png")
    read_png(tmp_path / "new" / "dir" / "history.png")
    only_pngs(tmp_path)


def test_history_errors(tmp_path):
    with pytest.raises(
        TypeError, match=r"^plot_history: history must be a dict of per-epoch lists, got list$"
    ):
        plots.plot_history([1.0, 0.5], tmp_path / "h.png")
    with pytest.raises(
        ValueError,
        match=r"^plot_history: history has no non-empty list under any of loss, val_loss, accuracy, val_accuracy; got keys \['acc', 'loss'\]$",
    ):
        plots.plot_history({"loss": [], "acc": [0.5]}, tmp_path / "h.png")
    with pytest.raises(
        ValueError, match=r"^plot_history: history\['loss'\] must be 1-D, got shape \(2, 2\)$"
    ):
        plots.plot_history({"loss": [[1, 2], [3, 4]]}, tmp_path / "h.png")
    with pytest.raises(
        ValueError, match=r"^plot_history: history\['val_loss'\] must hold numbers, got dtype <U1$"
    ):
        plots.plot_history({"loss": [1.0], "val_loss": ["a"]}, tmp_path / "h.png")
    with pytest.raises(ValueError, match=r"^plot_history: path must end in \.png, got '.*h\.pdf'$"):
        plots.plot_history(HISTORY, tmp_path / "h.pdf")
    assert list(tmp_path.iterdir()) == []


# --- saving is atomic -----------------------------------------------------------------------


def test_failed_save_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "history.png"
    plots.plot_history(HISTORY, path)
    before = path.read_bytes()

    def broken_savefig(self, file, **kwargs):
        file.write(b"half a PNG")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plots.plot_history({"loss": [1.0, 0.1]}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["history.png"]


# --- plot_confusion_matrix ------------------------------------------------------------------


def test_confusion_counts():
    # Rows are the true class, columns the predicted one.
    counts = plots._confusion_counts(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 4)
    np.testing.assert_array_equal(counts, [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
    rng = np.random.default_rng(0)
    labels, predictions = rng.integers(0, 7, 500), rng.integers(0, 7, 500)
    expected = np.zeros((7, 7), dtype=int)
    for label, prediction in zip(labels, predictions):
        expected[label, prediction] += 1
    np.testing.assert_array_equal(plots._confusion_counts(labels, predictions, 7), expected)


def test_confusion_matrix_digits(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 300)
    predictions = np.where(rng.random(300) < 0.8, labels, rng.integers(0, 10, 300))
    path = plots.plot_confusion_matrix(labels, predictions, tmp_path / "cm.png")
    height, width = read_png(path).shape[:2]
    assert width > height > 400
    only_pngs(tmp_path)


def test_confusion_matrix_with_names_and_float_labels(tmp_path):
    # Whole-number floats are accepted; a class that never occurs still gets its row.
    path = plots.plot_confusion_matrix(
        np.array([0.0, 1.0, 1.0, 0.0]), [0, 1, 0, 0], tmp_path / "cm.png", class_names=["cat", "dog", "bird"]
    )
    read_png(path)


def test_confusion_matrix_errors(tmp_path):
    path = tmp_path / "cm.png"
    with pytest.raises(
        ValueError,
        match=r"^plot_confusion_matrix: labels and predictions must have the same length, got 100 and 99$",
    ):
        plots.plot_confusion_matrix(np.zeros(100, int), np.zeros(99, int), path)
    with pytest.raises(
        ValueError,
        match=r"^plot_confusion_matrix: class 2 appears in labels or predictions but class_names has only 2 names$",
    ):
        plots.plot_confusion_matrix([0, 1, 2], [0, 1, 1], path, class_names=["cat", "dog"])
    with pytest.raises(
        ValueError, match=r"^plot_confusion_matrix: predictions must be non-negative, got -1$"
    ):
        plots.plot_confusion_matrix([0, 1], [0, -1], path)
    with pytest.raises(
        ValueError,
        match=r"^plot_confusion_matrix: labels must be integer class labels, got non-integer values$",
    ):
        plots.plot_confusion_matrix([0.5, 1.0], [0, 1], path)
    with pytest.raises(
        ValueError,
        match=r"^plot_confusion_matrix: predictions must be 1-D class labels of shape \(N,\), got shape \(2, 3\)$",
    ):
        plots.plot_confusion_matrix([0, 1], np.zeros((2, 3)), path)
    with pytest.raises(ValueError, match=r"^plot_confusion_matrix: labels must not be empty$"):
        plots.plot_confusion_matrix([], [], path)
    with pytest.raises(
        TypeError, match=r"^plot_confusion_matrix: class_names must be a sequence of names, got str$"
    ):
        plots.plot_confusion_matrix([0, 1], [0, 1], path, class_names="ab")
    assert list(tmp_path.iterdir()) == []


# --- plot_first_layer_weights ---------------------------------------------------------------


def test_linear_weights_of_8x8_digits(tmp_path):
    weight = np.random.default_rng(2).normal(size=(10, 64)).astype(np.float32)
    read_png(plots.plot_first_layer_weights(weight, tmp_path / "w.png"))


def test_linear_weights_784_show_at_most_64_units(tmp_path):
    weight = np.random.default_rng(3).normal(size=(100, 784))
    height, width = read_png(plots.plot_first_layer_weights(weight, tmp_path / "w.png")).shape[:2]
    # An 8 x 8 grid of 0.9-inch images plus a colour bar, not a 10 x 10 grid.
    assert (width, height) == (int((8 * 0.9 + 1.8) * DPI), int((8 * 0.9 + 0.9) * DPI))


def test_linear_weights_with_image_shape(tmp_path):
    weight = np.random.default_rng(4).normal(size=(5, 12))
    read_png(plots.plot_first_layer_weights(weight, tmp_path / "w.png", image_shape=(3, 4)))


def test_conv_weights(tmp_path):
    rng = np.random.default_rng(5)
    read_png(plots.plot_first_layer_weights(rng.normal(size=(8, 1, 5, 5)), tmp_path / "grey.png"))
    # Several input channels (averaged), all weights zero, and image_shape (the input's size,
    # which a caller may pass for any first layer) ignored for a conv weight.
    path = plots.plot_first_layer_weights(np.zeros((6, 3, 3, 3)), tmp_path / "rgb.png", (28, 28))
    read_png(path, min_bytes=1000)
    only_pngs(tmp_path)


def test_weight_errors(tmp_path):
    path = tmp_path / "w.png"
    with pytest.raises(
        ValueError,
        match=r"^plot_first_layer_weights: cannot draw 10 input features as a square image; pass image_shape=\(H, W\) with H \* W == 10$",
    ):
        plots.plot_first_layer_weights(np.ones((3, 10)), path)
    with pytest.raises(
        ValueError,
        match=r"^plot_first_layer_weights: image_shape \(3, 3\) has 9 pixels but the weight has 12 input features \(shape \(5, 12\)\)$",
    ):
        plots.plot_first_layer_weights(np.ones((5, 12)), path, image_shape=(3, 3))
    with pytest.raises(
        ValueError,
        match=r"^plot_first_layer_weights: image_shape must be two positive integers \(H, W\), got \(0, 12\)$",
    ):
        plots.plot_first_layer_weights(np.ones((5, 12)), path, image_shape=(0, 12))
    with pytest.raises(
        ValueError,
        match=r"^plot_first_layer_weights: weight must be a Linear weight \(out, in\) or a Conv2d weight \(c_O, c_I, h_K, w_K\), got shape \(4, 8, 8\)$",
    ):
        plots.plot_first_layer_weights(np.ones((4, 8, 8)), path)
    with pytest.raises(ValueError, match=r"^plot_first_layer_weights: weight contains NaN or infinity$"):
        plots.plot_first_layer_weights(np.full((2, 4), np.nan), path)
    assert list(tmp_path.iterdir()) == []


# --- plot_misclassified ---------------------------------------------------------------------


def digits_like(n, shape=(8, 8), seed=6):
    rng = np.random.default_rng(seed)
    images = rng.random((n, *shape))
    labels = rng.integers(0, 10, n)
    predictions = labels.copy()
    predictions[::3] = (labels[::3] + 1) % 10  # every third one is wrong
    return images, labels, predictions


def test_misclassified_grid_with_probabilities(tmp_path):
    images, labels, predictions = digits_like(60)
    probabilities = np.random.default_rng(7).dirichlet(np.ones(10), size=60)
    path = plots.plot_misclassified(images, labels, predictions, tmp_path / "m.png", probabilities)
    height, width = read_png(path).shape[:2]
    # 20 mistakes: 4 rows of 6 columns, 1.95 x 2.2 inches each, plus the title.
    assert (width, height) == (int(6 * 1.95 * DPI), int((4 * 2.2 + 0.5) * DPI))


def test_misclassified_layouts(tmp_path):
    images, labels, predictions = digits_like(12)
    confidence = np.full(12, 0.91)  # (N,): the probability of the predicted class
    for name, batch in [
        ("flat.png", images.reshape(12, 64)),  # flat 64-pixel images
        ("channel.png", images[:, None]),  # (N, 1, H, W)
    ]:
        read_png(plots.plot_misclassified(batch, labels, predictions, tmp_path / name, confidence))
    only_pngs(tmp_path)


def test_misclassified_max_images_in_colour(tmp_path):
    images, labels, predictions = digits_like(60, shape=(3, 28, 28))  # (N, 3, H, W)
    path = plots.plot_misclassified(images, labels, predictions, tmp_path / "m.png", max_images=2)
    assert read_png(path).shape[:2] == (int((2.2 + 0.5) * DPI), 5 * DPI)


def test_no_misclassified_images(tmp_path):
    images, labels, _ = digits_like(10)
    path = plots.plot_misclassified(images, labels, labels, tmp_path / "none.png")
    assert read_png(path, min_bytes=1000).shape[:2] == (2 * DPI, 5 * DPI)


def test_misclassified_errors(tmp_path):
    images, labels, predictions = digits_like(12)
    path = tmp_path / "m.png"
    with pytest.raises(
        ValueError,
        match=r"^plot_misclassified: flat images \(N, D\) need D a perfect square \(64, 784\), got D = 10$",
    ):
        plots.plot_misclassified(np.zeros((12, 10)), labels, predictions, path)
    with pytest.raises(
        ValueError,
        match=r"^plot_misclassified: images must be \(N, H, W\), \(N, 1, H, W\), \(N, 3, H, W\) or flat \(N, D\), got shape \(12, 2, 8, 8\)$",
    ):
        plots.plot_misclassified(np.zeros((12, 2, 8, 8)), labels, predictions, path)
    with pytest.raises(
        ValueError, match=r"^plot_misclassified: images and labels must have the same length, got 11 and 12$"
    ):
        plots.plot_misclassified(images[:11], labels, predictions, path)
    with pytest.raises(
        ValueError,
        match=r"^plot_misclassified: labels and predictions must have the same length, got 12 and 11$",
    ):
        plots.plot_misclassified(images, labels, predictions[:11], path)
    with pytest.raises(
        ValueError,
        match=r"^plot_misclassified: probabilities and predictions must have the same length, got 5 and 12$",
    ):
        plots.plot_misclassified(images, labels, predictions, path, probabilities=np.ones((5, 10)))
    with pytest.raises(
        ValueError,
        match=r"^plot_misclassified: prediction 9 is not a column of probabilities of shape \(12, 3\)$",
    ):
        plots.plot_misclassified(images, labels, np.full(12, 9), path, probabilities=np.ones((12, 3)))
    with pytest.raises(
        ValueError, match=r"^plot_misclassified: max_images must be a positive integer, got 0$"
    ):
        plots.plot_misclassified(images, labels, predictions, path, max_images=0)
    assert list(tmp_path.iterdir()) == []


# --- plot_regression ------------------------------------------------------------------------


def polynomial_data():
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, 30)
    t = 2 * x**2 - x + 0.5 + rng.normal(0, 0.1, 30)
    fit_x = np.linspace(1, -1, 50)[:, None]  # a column, in decreasing order: sorted for the line
    return x, t, fit_x, 2 * fit_x**2 - fit_x + 0.5


def test_regression_without_and_with_history(tmp_path):
    x, t, fit_x, fit_y = polynomial_data()
    alone = plots.plot_regression(x, t, fit_x, fit_y, tmp_path / "fit.png")
    assert read_png(alone).shape[:2] == (420, 600)
    history = {"loss": np.exp(-np.arange(100) / 20) + 0.01, "val_loss": np.exp(-np.arange(100) / 20) + 0.02}
    both = plots.plot_regression(x, t, fit_x, fit_y, tmp_path / "fit_loss.png", history=history)
    assert read_png(both).shape[:2] == (420, 1100)
    # A plain list of losses, with a zero: drawn on a linear scale instead of a log one.
    read_png(plots.plot_regression(x, t, fit_x, fit_y, tmp_path / "list.png", history=[1.0, 0.5, 0.0]))
    only_pngs(tmp_path)


def test_regression_errors(tmp_path):
    x, t, fit_x, fit_y = polynomial_data()
    path = tmp_path / "fit.png"
    with pytest.raises(
        ValueError, match=r"^plot_regression: x and t must have the same length, got 30 and 29$"
    ):
        plots.plot_regression(x, t[:-1], fit_x, fit_y, path)
    with pytest.raises(
        ValueError, match=r"^plot_regression: fit_x and fit_y must have the same length, got 50 and 49$"
    ):
        plots.plot_regression(x, t, fit_x, fit_y[:-1], path)
    with pytest.raises(ValueError, match=r"^plot_regression: fit_y must be 1-D, got shape \(50, 2\)$"):
        plots.plot_regression(x, t, fit_x, np.ones((50, 2)), path)
    with pytest.raises(
        ValueError,
        match=r"^plot_regression: history has no non-empty list of losses; got keys \['loss', 'val_loss'\]$",
    ):
        plots.plot_regression(x, t, fit_x, fit_y, path, history={"loss": [], "val_loss": None})
    assert list(tmp_path.iterdir()) == []


# --- plot_throughput ------------------------------------------------------------------------


def test_throughput(tmp_path):
    sizes = [1, 4, 16, 64, 256]
    series = {"float32": [900, 3000, 9000, 20000, 26000], "float64": [700, 2000, 6000, np.nan, 14000]}
    assert read_png(plots.plot_throughput(sizes, series, tmp_path / "t.png")).shape[:2] == (420, 650)
    only_pngs(tmp_path)


def test_throughput_errors(tmp_path):
    path = tmp_path / "t.png"
    with pytest.raises(
        ValueError,
        match=r"^plot_throughput: series\['numpy'\] must have one value per batch size, got 2 values for 3 batch sizes$",
    ):
        plots.plot_throughput([1, 2, 4], {"numpy": [1.0, 2.0]}, path)
    with pytest.raises(
        ValueError, match=r"^plot_throughput: series must have at least one label, got an empty dict$"
    ):
        plots.plot_throughput([1, 2, 4], {}, path)
    with pytest.raises(
        ValueError, match=r"^plot_throughput: batch_sizes must be positive, got \[0\.0, 2\.0\]$"
    ):
        plots.plot_throughput([0, 2], {"numpy": [1.0, 2.0]}, path)
    with pytest.raises(
        ValueError,
        match=r"^plot_throughput: series\['numpy'\] must be non-negative samples/s, got \[-1\.0, 2\.0\]$",
    ):
        plots.plot_throughput([1, 2], {"numpy": [-1.0, 2.0]}, path)
    assert list(tmp_path.iterdir()) == []


# --- no pyplot ------------------------------------------------------------------------------


@pytest.mark.slow
def test_importing_and_plotting_never_imports_pyplot(tmp_path):
    code = (
        "import sys\n"
        "import backprop.plots\n"
        f"backprop.plots.plot_history({{'loss': [1.0, 0.5]}}, {str(tmp_path / 'h.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    read_png(tmp_path / "h.png")


def test_plot_regression_compares_several_fits_with_a_reference_loss(tmp_path):
    x = np.linspace(-1, 1, 30)
    t = 2 * x**2 - x + 0.5
    grid = np.linspace(-1, 1, 50)
    path = plots.plot_regression(
        x, t, grid, {"gradient descent": 2 * grid**2 - grid + 0.5, "SGD": 1.9 * grid**2 - grid + 0.5},
        tmp_path / "two.png", history={"gradient descent": [1.0, 0.1, 0.01], "SGD": [1.0, 0.2, 0.05]},
        reference_loss=0.009,
    )
    read_png(path)
    with pytest.raises(ValueError, match=r"fit_x and fit_y must have the same length, got 50 and 49"):
        plots.plot_regression(x, t, grid, {"a": grid, "b": grid[:-1]}, tmp_path / "bad.png")
