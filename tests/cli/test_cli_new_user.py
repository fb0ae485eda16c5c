"""Issue 10: a new user's first hour, each defect through the command a user types.

Every command runs as a real subprocess in the test's own directory (``tmp_path``), so a
default ``runs/<timestamp>`` would land there and can be looked for.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import cli_ok, cli_user_error

import backprop as bp


def warnings_of(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("backprop: warning:")]


@pytest.fixture(scope="module")
def small_mnist(small_mnist_files, tmp_path_factory):
    """A run trained with --data-dir on conftest's MNIST files made from the 8x8 digits."""
    folder = tmp_path_factory.mktemp("mnist")
    cli_ok("train", "--dataset", "mnist", "--data-dir", small_mnist_files, "--out", folder / "run", "--epochs", "3",
           "--quiet", "--no-plots", cwd=folder)
    return folder, small_mnist_files


# 1. CSV regression at the defaults


def test_csv_regression_at_the_defaults_trains_and_answers_in_the_targets_units(diabetes_csv, tmp_path):
    path, target = diabetes_csv
    result = cli_ok("train", "--dataset", f"csv:{path}", "--target", "progression", "--out", tmp_path / "run",
                    "--no-plots", cwd=tmp_path)
    assert result.stderr == ""  # no RuntimeWarning, no warning of ours
    assert "target standardised (mean" in result.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # The test MSE is in the target's units: far below the variance (what predicting the mean
    # scores, about 5,900) and near least squares' (about 2,900 on this split).
    assert metrics["test_loss"] < 0.6 * target.var()
    assert cli_ok("evaluate", tmp_path / "run", cwd=tmp_path).stdout.startswith(f"loss {metrics['test_loss']:.4f}")
    record = bp.io.load_metadata(tmp_path / "run" / "model.safetensors")["user"]
    assert record["preprocessing"]["target_mean"][0] == pytest.approx(target.mean(), rel=0.1)
    # The average patient (every feature at the training mean): a value in the target's range.
    np.save(tmp_path / "average.npy", np.asarray(record["preprocessing"]["mean"]))
    answer = float(cli_ok("predict", tmp_path / "run", tmp_path / "average.npy", cwd=tmp_path).stdout.split(": ")[1])
    assert 100 < answer < 200


def test_a_diverging_regression_is_one_line_without_runtime_warnings(diabetes_csv, tmp_path):
    path, _ = diabetes_csv
    message = cli_user_error("train", "--dataset", f"csv:{path}", "--lr", "1e6", "--no-plots", cwd=tmp_path)
    assert "Try a lower learning rate" in message
    assert not (tmp_path / "runs").exists()


# 2. --test-fraction 0, and splits that leave nothing


def test_a_run_without_test_split_is_refused_before_training(tmp_path):
    assert "--test-fraction: expected a number above 0 and below 1, got '0'" in cli_user_error(
        "train", "--test-fraction", "0", cwd=tmp_path
    )
    message = cli_user_error("train", "--test-fraction", "0.5", "--val-fraction", "0.6", cwd=tmp_path)
    assert "--val-fraction 0.6 and --test-fraction 0.5 add up to 1.1, leaving nothing to train on" in message
    assert not (tmp_path / "runs").exists()


# 3. A failed train leaves nothing behind


def test_a_failed_train_leaves_no_run_folder(tmp_path):
    (tmp_path / "nan.csv").write_text("a,b,y\n1,2,0\n3,nan,1\n")
    for mistake in (["--dataset", "imagenet"], ["--dataset", "csv:missing.csv"], ["--dataset", "csv:nan.csv"],
                    ["--dataset", "mnist", "--data-dir", "nowhere"], ["--lr", "1e9", "--epochs", "1"]):
        cli_user_error("train", "--no-plots", *mistake, cwd=tmp_path)
        cli_user_error("train", "--no-plots", "--out", "deep/new/run", *mistake, cwd=tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["nan.csv"]
    # In a folder that was there before, what was there stays and nothing is added.
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "notes.txt").write_text("mine")
    cli_user_error("train", "--out", "kept", "--lr", "1e9", "--epochs", "1", cwd=tmp_path)
    assert [path.name for path in (tmp_path / "kept").iterdir()] == ["notes.txt"]
    assert "expected a folder for the run, but it is a file" in cli_user_error(
        "train", "--out", "nan.csv", cwd=tmp_path
    )


def test_a_successful_train_makes_its_default_run_folder(tmp_path):
    result = cli_ok("train", "--epochs", "1", "--no-plots", "--quiet", cwd=tmp_path)
    [folder] = (tmp_path / "runs").iterdir()
    assert result.stdout.rstrip().endswith(f"-> runs/{folder.name}")
    assert sorted(path.name for path in folder.iterdir()) == ["checkpoint.safetensors", "metrics.json", "model.safetensors"]


# 4. gradcheck that checks nothing


def test_gradcheck_refuses_to_check_nothing(tmp_path):
    for value in ("0", "-1"):
        assert f"--directions: expected a positive integer, got '{value}'" in cli_user_error(
            "gradcheck", "--directions", value, cwd=tmp_path
        )
    # The sibling: a negative seed was a NumPy traceback.
    for command in (["gradcheck"], ["train"], ["example", "softmax"]):
        assert "--seed: expected a whole number >= 0, got '-1'" in cli_user_error(*command, "--seed", "-1", cwd=tmp_path)
    with pytest.raises(ValueError, match="directions must be a positive integer, got 0"):
        bp.gradcheck(bp.ReLU(), np.ones((2, 3)), directions=0)


# 7. A nan cell in a CSV file


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity", ""])
def test_a_non_finite_csv_cell_is_refused_naming_file_line_and_column(cell, tmp_path):
    (tmp_path / "t.csv").write_text(f"a,b,y\n1,2,0\n3,{cell},1\n4,5,0\n")
    message = cli_user_error("train", "--dataset", "csv:t.csv", cwd=tmp_path)
    assert "t.csv, line 3, column 1 ('b'): expected a " in message and repr(cell) in message


# 8. evaluate on data that does not fit the model


def test_evaluate_on_data_of_another_width_names_both_sizes(diabetes_csv, tmp_path):
    path, _ = diabetes_csv
    cli_ok("train", "--dataset", f"csv:{path}", "--target", "progression", "--out", "run", "--epochs", "2",
           "--no-plots", "--quiet", cwd=tmp_path)
    np.savetxt(tmp_path / "narrow.csv", np.ones((5, 4)), delimiter=",", header="a,b,c,progression", comments="")
    message = cli_user_error("evaluate", "run", "--dataset", "csv:narrow.csv", cwd=tmp_path)
    assert "expects samples of shape (10,), csv:narrow.csv has samples of shape (3,)" in message
    assert "the model expects samples of shape (10,), digits has samples of shape (1, 8, 8)" in cli_user_error(
        "evaluate", "run", "--dataset", "digits", cwd=tmp_path
    )


def test_evaluate_refuses_classes_the_model_does_not_know(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 2))
    np.savetxt(tmp_path / "two.csv", np.column_stack([x, x[:, 0] > 0]), delimiter=",", header="a,b,y", comments="")
    np.savetxt(tmp_path / "five.csv", np.column_stack([x, np.arange(60) % 5]), delimiter=",", header="a,b,y",
               comments="")
    cli_ok("train", "--dataset", "csv:two.csv", "--out", "run", "--epochs", "2", "--no-plots", "--quiet", cwd=tmp_path)
    assert "labels [2, 3, 4] are not among the model's classes [0, 1]" in cli_user_error(
        "evaluate", "run", "--dataset", "csv:five.csv", cwd=tmp_path
    )


# 9. Errors that name only what the user typed


def test_evaluate_and_report_find_the_mnist_directory_the_run_used(small_mnist, tmp_path):
    folder, _ = small_mnist
    # From another directory, with no data/mnist there and no --data-dir.
    assert "samples, mnist test split" in cli_ok("evaluate", folder / "run", cwd=tmp_path).stdout
    assert "curves.png" in cli_ok("report", folder / "run", cwd=tmp_path).stdout


def test_data_errors_name_the_option_not_python(tmp_path):
    message = cli_user_error("train", "--dataset", "mnist", cwd=tmp_path)
    assert "MNIST directory data/mnist (the default; give --data-dir DIR): no such directory" in message
    (tmp_path / "empty").mkdir()
    message = cli_user_error("train", "--dataset", "mnist", "--data-dir", "empty", cwd=tmp_path)
    assert "download=True" not in message and "expected t10k-images-idx3-ubyte" in message
    assert "expected a file name after the colon, got 'csv:'" in cli_user_error(
        "train", "--dataset", "csv:", cwd=tmp_path
    )
    assert "Errno" not in cli_user_error("train", "--dataset", "csv:.", cwd=tmp_path)
    assert "--dataset csv:empty: empty is a folder, not a file" in cli_user_error(
        "train", "--dataset", "csv:empty", cwd=tmp_path
    )
    assert "--dataset idx:empty,x: empty is a folder, not a file" in cli_user_error(
        "train", "--dataset", "idx:empty,x", cwd=tmp_path
    )


# 11. Options accepted and then ignored


def test_contradictory_options_are_errors(tmp_path):
    assert "--model sigmoid-mlp has sigmoid hidden layers, but --activation relu was given" in cli_user_error(
        "train", "--model", "sigmoid-mlp", "--activation", "relu", cwd=tmp_path
    )
    assert "--model cnn has relu hidden layers, but --activation tanh" in cli_user_error(
        "train", "--model", "cnn", "--activation", "tanh", cwd=tmp_path
    )
    assert "--model softmax has no hidden layer" in cli_user_error(
        "train", "--model", "softmax", "--activation", "tanh", cwd=tmp_path
    )
    assert "--patience 3 stops on the validation loss, but --val-fraction 0" in cli_user_error(
        "train", "--patience", "3", "--val-fraction", "0", cwd=tmp_path
    )
    assert "--top: expected a positive integer, got '0'" in cli_user_error("predict", "run", "x.npy", "--top", "0",
                                                                           cwd=tmp_path)
    assert not (tmp_path / "runs").exists()


def test_useless_options_are_warnings(tmp_path):
    result = cli_ok("train", "--target", "price", "--task", "regression", "--data-dir", "somewhere", "--optimizer",
                    "adam", "--momentum", "0.5", "--epochs", "1", "--out", "run", "--no-plots", "--quiet", cwd=tmp_path)
    assert warnings_of(result) == [
        "backprop: warning: --momentum 0.5 applies to --optimizer sgd only; ignored with adam",
        "backprop: warning: --target price applies to csv: data sets only; ignored with --dataset digits",
        "backprop: warning: --task regression applies to csv: data sets only; ignored with --dataset digits",
        "backprop: warning: --data-dir somewhere applies to --dataset mnist only; ignored with --dataset digits",
    ]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["hyperparameters"]["momentum"] is None and metrics["hyperparameters"]["optimizer"] == "adam"
    assert warnings_of(cli_ok("report", "run", "--data-dir", "somewhere", cwd=tmp_path)) == [
        "backprop: warning: --data-dir somewhere applies to --dataset mnist only; ignored with --dataset digits"
    ]


def test_evaluate_on_the_training_samples_under_another_name_warns(small_mnist, tmp_path):
    folder, data = small_mnist
    spec = f"idx:{data / 't10k-images-idx3-ubyte.gz'},{data / 't10k-labels-idx1-ubyte.gz'}"
    result = cli_ok("evaluate", folder / "run", "--dataset", spec, cwd=tmp_path)
    [warning] = warnings_of(result)
    assert "holds the very samples" in warning and "was trained on" in warning
    assert warnings_of(cli_ok("evaluate", folder / "run", cwd=tmp_path)) == []
