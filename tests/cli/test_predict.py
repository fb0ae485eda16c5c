"""`backprop predict` and `evaluate` as a user types them: drawn digits, tiny images, bp.save files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import SHARED_MNIST, cli_ok, cli_user_error, needs_shared_mnist

import backprop as bp


def thick_black_seven(path: Path) -> None:
    """A thick black 7 on a white 200x200 canvas, as a user draws one in a paint program."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (200, 200), 255)
    pen = ImageDraw.Draw(canvas)
    pen.line([(45, 40), (155, 40)], fill=0, width=18)
    pen.line([(155, 40), (85, 170)], fill=0, width=18)
    canvas.save(path)


@needs_shared_mnist
def test_a_thick_black_seven_on_a_white_canvas_is_a_seven_for_an_mnist_model(tmp_path):
    cli_ok("train", "--dataset", "mnist", "--data-dir", SHARED_MNIST, "--epochs", "3", "--hidden", "128",
           "--val-fraction", "0", "--no-plots", "--quiet", "--out", tmp_path / "mnist")
    thick_black_seven(tmp_path / "seven.png")
    stdout = cli_ok("predict", tmp_path / "mnist", tmp_path / "seven.png").stdout
    assert stdout.startswith(f"{tmp_path / 'seven.png'}: 7 ("), stdout


def test_a_drawn_digit_is_read_by_a_model_of_the_8x8_digits(saved_digits_model, tmp_path):
    model = saved_digits_model
    thick_black_seven(tmp_path / "seven.png")
    assert cli_ok("predict", model, tmp_path / "seven.png").stdout.startswith(f"{tmp_path / 'seven.png'}: 7 (")


def test_images_too_small_to_hold_a_digit_are_refused(saved_digits_model, tmp_path):
    from PIL import Image

    model = saved_digits_model
    Image.new("L", (1, 1), 0).save(tmp_path / "dot.png")
    message = cli_user_error("predict", model, tmp_path / "dot.png")
    assert "dot.png: the image is 1x1 pixels, too small to hold a digit; the minimum is 8x8" in message
    Image.new("L", (40, 5), 0).save(tmp_path / "strip.png")
    assert "the image is 40x5 pixels" in cli_user_error("predict", model, tmp_path / "strip.png")


def test_predict_reads_a_file_written_by_bp_save_and_says_what_it_assumes(saved_digits_model, tmp_path):
    model = saved_digits_model
    x, _ = bp.datasets.load_digits()
    np.save(tmp_path / "five.npy", x[:5, 0])
    result = cli_ok("predict", model, tmp_path / "five.npy")
    lines = result.stdout.splitlines()
    expected = bp.predict(bp.load(model), x[:5]).argmax(axis=1)
    assert [int(line.split(": ")[1].split(" ")[0]) for line in lines] == expected.tolist()
    assert result.stderr == (
        f"backprop predict: note: {model} does not record how it was trained (it was not written by backprop"
        " train); assuming a classifier (its outputs go through a softmax), samples of shape (1, 8, 8), no"
        " preprocessing (pixels in [0, 1], features not standardised)\n"
    )


def test_predict_infers_vector_and_convolution_inputs(tmp_path):
    vector = bp.Sequential(bp.Linear(5, 3, rng=0))
    bp.save(vector, tmp_path / "vector.safetensors")
    np.save(tmp_path / "row.npy", np.arange(5.0))
    result = cli_ok("predict", tmp_path / "vector.safetensors", tmp_path / "row.npy")
    assert "a regressor (raw outputs), samples of shape (5,)" in result.stderr
    assert len(result.stdout.split(": ")[1].split()) == 3

    cnn = bp.Sequential(bp.Conv2d(1, 2, 3, padding=1, rng=0), bp.ReLU(), bp.MaxPool2d(2), bp.Flatten(),
                        bp.Linear(2 * 14 * 14, 10, rng=1))
    cnn.output_transform = "softmax"
    bp.save(cnn, tmp_path / "cnn.safetensors")
    thick_black_seven(tmp_path / "seven.png")
    result = cli_ok("predict", tmp_path / "cnn.safetensors", tmp_path / "seven.png")
    assert "samples of shape (1, 28, 28)" in result.stderr and result.stdout.count("(") == 1


def test_evaluate_a_bp_save_file_needs_dataset_and_then_uses_all_samples(saved_digits_model):
    model = saved_digits_model
    x, labels = bp.datasets.load_digits()
    assert "does not record the data it was trained on; give --dataset" in cli_user_error("evaluate", model)
    result = cli_ok("evaluate", model, "--dataset", "digits")
    accuracy = np.mean(bp.predict(bp.load(model), x).argmax(axis=1) == labels)
    assert f"accuracy {accuracy:.4f}" in result.stdout and "1797 samples" in result.stdout
    assert "backprop evaluate: note:" in result.stderr


def test_predict_names_a_folder_given_as_an_input(saved_digits_model, tmp_path):
    model = saved_digits_model
    assert f"{tmp_path}: is a folder" in cli_user_error("predict", model, tmp_path)


def test_report_still_needs_a_run_folder_of_backprop_train(saved_digits_model):
    model = saved_digits_model
    assert "no such run folder" in cli_user_error("report", model)


def test_a_diverged_model_is_refused_by_every_command_that_answers_with_it(small_digits_run, tmp_path):
    """A model whose weights hold NaN answers every input with NaN: predict printed "9 (nan)" as a
    prediction, and serve answered NaN, which is not JSON. Each command now says what happened."""
    import shutil

    from backprop.io import load_metadata

    run = tmp_path / "diverged"
    shutil.copytree(small_digits_run, run)
    path = run / "model.safetensors"
    model, metadata = bp.load(path), load_metadata(path)["user"]
    name = next(iter(model.params))
    model.params[name][0, :3] = np.nan
    bp.save(model, path, metadata=metadata)
    np.save(tmp_path / "digits.npy", bp.datasets.load_digits()[0][:2].reshape(2, 8, 8) / 16)
    for command in (["predict", run, tmp_path / "digits.npy"], ["evaluate", run], ["serve", run, "--port", "0"]):
        message = cli_user_error(*command, timeout=120)
        assert f"{path}: the model's parameters hold NaN or infinite values (3 in {name!r})" in message
        assert "its training diverged" in message
