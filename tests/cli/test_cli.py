"""The command line, run as a user runs it: a real subprocess each time."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import SHARED_MNIST, cli_ok, cli_user_error, needs_shared_mnist

import backprop as bp


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path, monkeypatch):
    """Every command runs in the test's own directory: a default runs/<timestamp> lands there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The README's main job: `backprop train` with no options but the run folder."""
    out = tmp_path_factory.mktemp("runs") / "default"
    stdout = cli_ok("train", "--out", out).stdout
    return out, stdout


def test_default_train_reaches_97_percent_and_writes_the_run_folder(digits_run):
    out, stdout = digits_run
    assert "epoch 60/60" in stdout and "test accuracy" in stdout
    for name in ("model.safetensors", "metrics.json", "curves.png", "confusion.png", "weights.png",
                 "misclassified.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.97
    assert metrics["test_loss"] < 0.2
    assert len(metrics["history"]["loss"]) == 60 == len(metrics["history"]["val_accuracy"])
    assert metrics["seed"] == 0 and metrics["hyperparameters"]["lr"] == 0.1
    assert metrics["wall_time_seconds"] > 0 and metrics["samples"] == {"train": 1258, "validation": 180, "test": 359}
    model = bp.load(out / "model.safetensors")
    assert [type(layer).__name__ for layer in model] == ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"]


def test_evaluate_reproduces_the_test_split(digits_run):
    out, _ = digits_run
    metrics = json.loads((out / "metrics.json").read_text())
    stdout = cli_ok("evaluate", out).stdout
    assert f"accuracy {metrics['test_accuracy']:.4f}" in stdout and "359 samples" in stdout


def test_predict_png_and_npy(digits_run, tmp_path):
    from PIL import Image

    out, _ = digits_run
    images, labels = bp.datasets.load_digits()
    # A dark digit on a light background, 10x larger: predict must invert and shrink it.
    index = int(np.flatnonzero(labels == 3)[0])
    picture = (255 - images[index, 0] * 255).astype(np.uint8)
    Image.fromarray(picture).resize((80, 80), Image.Resampling.NEAREST).save(tmp_path / "three.png")
    np.save(tmp_path / "batch.npy", images[:4, 0])
    stdout = cli_ok("predict", out, tmp_path / "three.png", tmp_path / "batch.npy", "--top", "2").stdout
    lines = stdout.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'three.png'}: 3 (")
    assert len(lines) == 5 and lines[1].startswith(f"{tmp_path / 'batch.npy'}[0]: {labels[0]} (")


def test_report_redraws_the_figures(digits_run):
    out, _ = digits_run
    (out / "confusion.png").unlink()
    stdout = cli_ok("report", out).stdout
    assert "confusion.png" in stdout and (out / "confusion.png").stat().st_size > 0


@pytest.mark.parametrize(
    "options",
    [
        ["--model", "cnn", "--epochs", "2"],
        ["--model", "sigmoid-mlp", "--epochs", "3", "--lr", "0.5", "--schedule", "none"],
        ["--model", "softmax", "--epochs", "3", "--optimizer", "adam", "--lr", "0.01"],
        ["--hidden", "32,16,8", "--activation", "tanh", "--epochs", "2", "--schedule", "step"],
        ["--batch-size", "full", "--epochs", "60", "--dtype", "float64", "--lr", "0.5"],
        ["--test-fraction", "0.5", "--val-fraction", "0", "--epochs", "2", "--weight-decay", "0"],
        ["--patience", "2", "--epochs", "100", "--schedule", "none", "--seed", "3"],
    ],
)
def test_train_options(options, tmp_path):
    stdout = cli_ok("train", "--out", tmp_path, "--no-plots", "--quiet", *options).stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in stdout
    assert metrics["test_accuracy"] > 0.5
    model = bp.load(tmp_path / "model.safetensors")
    hyper = metrics["hyperparameters"]
    assert hyper["model"] == (options[1] if options[0] == "--model" else "mlp")
    if "--dtype" in options:
        assert model.params["1.weight"].dtype == np.float64
    if "--patience" in options:
        assert metrics["epochs_run"] < 100 and metrics["stop_reason"].startswith("early stopping")
    if "cnn" in options:
        assert any(isinstance(layer, bp.Conv2d) for layer in model)


def test_csv_classification_and_regression(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    classes = (x[:, 0] + x[:, 1] > 0).astype(int)
    values = 2 * x[:, 0] - x[:, 2] + 0.5
    header = "a,b,c,label,value"
    np.savetxt(tmp_path / "table.csv", np.column_stack([x, classes, values]), delimiter=",", header=header,
               comments="", fmt="%.6f")
    cli_ok("train", "--dataset", f"csv:{tmp_path / 'table.csv'}", "--target", "label", "--out", tmp_path / "c",
           "--epochs", "20", "--quiet")
    metrics = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.9
    cli_ok("train", "--dataset", f"csv:{tmp_path / 'table.csv'}", "--out", tmp_path / "r", "--epochs", "30",
           "--quiet", "--lr", "0.01", "--hidden", "16")
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert "test_accuracy" not in metrics and metrics["test_loss"] < 0.1
    np.save(tmp_path / "row.npy", np.array([1.0, 0.0, 0.0, 1.0]))  # a, b, c, label (the features)
    stdout = cli_ok("predict", tmp_path / "r", tmp_path / "row.npy").stdout
    assert abs(float(stdout.split(": ")[1]) - 2.5) < 0.5


def test_idx_and_mnist_layout_from_small_files(small_mnist_files, tmp_path):
    """Small IDX files made from the 8x8 digits (conftest), read as idx:IMAGES,LABELS and as MNIST."""
    images, _ = bp.datasets.load_digits()
    stdout = cli_ok("train", "--dataset", "mnist", "--data-dir", small_mnist_files, "--out", tmp_path / "m",
                    "--epochs", "5", "--no-plots").stdout
    assert "MNIST test set only" in stdout
    spec = f"idx:{small_mnist_files / 't10k-images-idx3-ubyte.gz'},{small_mnist_files / 't10k-labels-idx1-ubyte.gz'}"
    cli_ok("train", "--dataset", spec, "--out", tmp_path / "i", "--epochs", "5", "--quiet", "--no-plots")
    for run in ("m", "i"):
        assert json.loads((tmp_path / run / "metrics.json").read_text())["test_accuracy"] > 0.9
    stdout = cli_ok("evaluate", tmp_path / "m", "--dataset", spec).stdout
    assert f"({len(images)} samples" in stdout


@needs_shared_mnist
def test_mlp_on_real_mnist_8000_train_2000_test(tmp_path):
    cli_ok("train", "--dataset", "mnist", "--data-dir", SHARED_MNIST, "--val-fraction", "0", "--epochs", "10",
           "--out", tmp_path, "--quiet", "--no-plots")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["samples"] == {"train": 8000, "validation": 0, "test": 2000}
    assert metrics["test_accuracy"] >= 0.95


def test_gradcheck_command_checks_every_component():
    """Every layer and loss of the public API has a row (a new component that lacks one fails here)."""
    out = cli_ok("gradcheck").stdout
    components = [
        name for name in bp.__all__
        if isinstance(getattr(bp, name), type) and issubclass(getattr(bp, name), (bp.Layer, bp.Loss))
        and name not in ("Layer", "Loss", "Sequential")
    ]
    assert {"GELU", "LayerNorm", "Residual", "AvgPool2d", "PoissonNLLLoss"} <= set(components)
    for component in components:
        assert re.search(rf"^{component}\b", out, re.MULTILINE), component
    assert "FAIL" not in out
    assert "every analytic gradient matches finite differences" in out


def test_user_mistakes_are_one_line_and_exit_2(digits_run, tmp_path):
    out, _ = digits_run
    assert "invalid choice" in cli_user_error("no-such-command")
    assert "invalid choice: 'transformer'" in cli_user_error("train", "--model", "transformer")
    assert "expected a positive integer, got '0'" in cli_user_error("train", "--epochs", "0")
    assert "expected a number above 0 and below 1, got '1.5'" in cli_user_error("train", "--test-fraction", "1.5")
    assert "expected a number in [0, 1), got '1.5'" in cli_user_error("train", "--val-fraction", "1.5")
    assert "unknown --dataset 'imagenet'" in cli_user_error("train", "--dataset", "imagenet")
    assert "no such file" in cli_user_error("train", "--dataset", f"csv:{tmp_path / 'missing.csv'}").lower()
    assert "--data-dir" in cli_user_error("train", "--dataset", "mnist", "--data-dir", tmp_path / "nowhere")
    assert "no such model file" in cli_user_error("evaluate", tmp_path / "nothing")
    assert "no such file" in cli_user_error("predict", out, tmp_path / "missing.png")
    (tmp_path / "notes.txt").write_text("hello")
    assert "unknown file type '.txt'" in cli_user_error("predict", out, tmp_path / "notes.txt")
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    assert "bad.safetensors" in cli_user_error("evaluate", tmp_path / "bad.safetensors")
    np.save(tmp_path / "wrong.npy", np.zeros((5, 5)))
    assert "expected an array of shape (1, 8, 8)" in cli_user_error("predict", out, tmp_path / "wrong.npy")
    table = np.column_stack([np.ones((10, 2)), np.arange(10) % 2])
    np.savetxt(tmp_path / "t.csv", table, delimiter=",", header="a,b,c", comments="")
    assert "--model cnn needs images" in cli_user_error("train", "--dataset", f"csv:{tmp_path / 't.csv'}", "--model",
                                                        "cnn", "--out", tmp_path / "x")
    assert "the model expects samples of shape (1, 8, 8)" in cli_user_error(
        "evaluate", out, "--dataset", f"csv:{tmp_path / 't.csv'}"
    )


@needs_shared_mnist
def test_lenet5_trains_on_real_mnist_and_refuses_the_8x8_digits(tmp_path):
    cli_ok("train", "--model", "lenet5", "--dataset", "mnist", "--data-dir", SHARED_MNIST, "--epochs", "2",
           "--out", tmp_path / "run", "--quiet", "--no-plots")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.9
    model = bp.load(tmp_path / "run" / "model.safetensors")
    assert [type(layer).__name__ for layer in model][:3] == ["Conv2d", "Tanh", "AvgPool2d"]
    message = cli_user_error("train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1")
    assert "the lenet5 model needs images (C, H, W) with H, W >= 12, got samples of shape (1, 8, 8)" in message


def test_resnet_trains_from_the_command_line_and_its_running_statistics_are_in_the_model_file(tmp_path):
    cli_ok("train", "--model", "resnet", "--hidden", "8,16", "--dataset", "digits", "--epochs", "4",
           "--out", tmp_path / "run", "--quiet", "--no-plots")
    model = bp.load(tmp_path / "run" / "model.safetensors")
    assert "1.running_mean" in model.buffers and model.buffers["1.running_mean"].any()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8
    message = cli_user_error("train", "--model", "resnet", "--activation", "tanh", "--epochs", "1")
    assert "--model resnet has relu hidden layers, but --activation tanh was given" in message
