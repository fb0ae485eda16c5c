"""Issue 18, the command line's edges: every defect through the command a user types.

Class labels of any kind (``0``/``1e9``, ``-1``/``1``, names, one class), targets near 1e300,
runs protected from each other (``--overwrite``, the folder lock), no finished model ever thrown
away (a failed figure, a failed model write, a first checkpoint that cannot be written), SIGTERM
as a clean stop, options that survive ``--resume``, data paths that work from any directory,
paths that are not files said in words, and errors in the option names the user typed.

Every command runs as a real ``python -m backprop`` process in the test's own directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import resource
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPOSITORY, cli_ok, cli_user_error, run_cli, start_cli

import backprop as bp
import backprop.cli.train as train_command
import backprop.images
from backprop import plots, runs
from backprop.activity import dead_units
from backprop.cli import main as command_line

FAST = ("--epochs", "2", "--no-plots", "--quiet")


def write_csv(path: Path, features: np.ndarray, target, header: str = "a,b,c,y") -> Path:
    with open(path, "w", encoding="utf-8") as file:
        file.write(header + "\n")
        for row, label in zip(features, target):
            file.write(",".join(f"{value:.17g}" for value in row) + f",{label}\n")
    return path


@pytest.fixture(scope="module")
def table():
    """200 rows, 3 features; the class is the sign of the first feature."""
    x = np.random.default_rng(0).standard_normal((200, 3))
    return x, x[:, 0] > 0


def metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def record(folder: Path) -> dict:
    return bp.io.load_metadata(folder / "model.safetensors")["user"]


# --- class labels --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("negative", "positive"), [("0", "1000000000"), ("-1", "1"), ("0", "1000"), ("no", "yes")]
)
def test_any_two_labels_are_two_classes_and_predict_answers_in_them(tmp_path, table, negative, positive):
    """Before: 0/1e9 allocated 477 GiB and crashed, 0/1000 built a 1,001-way softmax, -1/1 became a
    regression. Now each is two classes, trained with the fused sigmoid cross-entropy."""
    x, positive_rows = table
    write_csv(tmp_path / "data.csv", x, np.where(positive_rows, positive, negative))
    result = cli_ok("train", "--dataset", "csv:data.csv", "--epochs", "20", "--no-plots", "--out", "run", cwd=tmp_path)
    assert f"target: 2 classes ({negative}, {positive})" in result.stdout
    assert "SigmoidBinaryCrossEntropy" in result.stdout
    assert metrics(tmp_path / "run")["test_accuracy"] > 0.9
    saved = record(tmp_path / "run")
    assert saved["task"] == "classification" and saved["outputs"] == 1
    assert saved["loss"] == "SigmoidBinaryCrossEntropy"
    np.save(tmp_path / "rows.npy", x[:2])
    answer = cli_ok("predict", "run", "rows.npy", cwd=tmp_path).stdout.splitlines()
    expected = [positive if row else negative for row in positive_rows[:2]]
    assert [line.split(": ")[1].split(" ")[0] for line in answer] == expected


def test_class_names_train_a_softmax_and_predict_names_them(tmp_path):
    x = np.random.default_rng(1).standard_normal((300, 3))
    names = np.array(["cat", "dog", "bird"])[np.argmax(x, axis=1)]
    write_csv(tmp_path / "pets.csv", x, names)
    result = cli_ok("train", "--dataset", "csv:pets.csv", "--epochs", "30", "--no-plots", "--out", "run", cwd=tmp_path)
    assert "target: 3 classes (bird, cat, dog)" in result.stdout
    assert record(tmp_path / "run")["preprocessing"]["classes"] == ["bird", "cat", "dog"]
    np.save(tmp_path / "rows.npy", np.array([[3.0, -1, -1], [-1, 3.0, -1], [-1, -1, 3.0]]))
    answer = cli_ok("predict", "run", "rows.npy", "--top", "2", cwd=tmp_path).stdout.splitlines()
    assert [line.split(": ")[1].split(" ")[0] for line in answer] == ["cat", "dog", "bird"]
    assert all(", " in line for line in answer)  # --top 2 names two classes


def test_evaluate_maps_labels_through_the_model_and_names_an_unknown_one(tmp_path, table):
    x, positive_rows = table
    write_csv(tmp_path / "train.csv", x, np.where(positive_rows, "yes", "no"))
    cli_ok("train", "--dataset", "csv:train.csv", *FAST, "--out", "run", cwd=tmp_path)
    write_csv(tmp_path / "other.csv", x[:50], np.where(positive_rows[:50], "yes", "no"))
    assert "accuracy" in cli_ok("evaluate", "run", "--dataset", "csv:other.csv", cwd=tmp_path).stdout
    write_csv(tmp_path / "bad.csv", x[:50], np.where(positive_rows[:50], "yes", "maybe"))
    message = cli_user_error("evaluate", "run", "--dataset", "csv:bad.csv", cwd=tmp_path)
    assert "['maybe']" in message and "not among the model's classes ['no', 'yes']" in message


def test_one_class_is_refused_and_task_overrides_the_guess(tmp_path, table):
    x, positive_rows = table
    write_csv(tmp_path / "one.csv", x, np.ones(len(x), dtype=int))
    message = cli_user_error("train", "--dataset", "csv:one.csv", *FAST, cwd=tmp_path)
    assert "one value, 1, in every row" in message and "two classes" in message
    assert not (tmp_path / "runs").exists()
    write_csv(tmp_path / "pm.csv", x, np.where(positive_rows, 1, -1))
    cli_ok("train", "--dataset", "csv:pm.csv", *FAST, "--task", "regress", "--out", "regressed", cwd=tmp_path)
    assert record(tmp_path / "regressed")["task"] == "regression"
    write_csv(tmp_path / "names.csv", x, np.where(positive_rows, "yes", "no"))
    message = cli_user_error("train", "--dataset", "csv:names.csv", *FAST, "--task", "regress", cwd=tmp_path)
    assert ("needs numbers" in message and "'no'" in message) or "'yes'" in message


def test_many_whole_numbers_are_a_regression(tmp_path):
    x = np.random.default_rng(2).standard_normal((200, 3))
    write_csv(tmp_path / "prices.csv", x, np.round(1000 + 300 * x[:, 0]).astype(int))
    result = cli_ok("train", "--dataset", "csv:prices.csv", "--epochs", "2", "--no-plots", "--out", "run", cwd=tmp_path)
    assert record(tmp_path / "run")["task"] == "regression"
    assert "target standardised" in result.stdout


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_near_1e300(tmp_path, dtype):
    """Before: a target near 1e300 ended in "test loss nan" with exit 0. Now it is refused in one line;
    features near 1e300 are standardised in float64 first, so they train, in float32 too."""
    x = np.random.default_rng(3).standard_normal((200, 3))
    write_csv(tmp_path / "huge_target.csv", x, x[:, 0] * 1e300)
    message = cli_user_error("train", "--dataset", "csv:huge_target.csv", *FAST, "--dtype", dtype, cwd=tmp_path)
    assert re.search(r"the target reaches \d\.\d+e\+300", message) and "power of ten" in message
    scaled = x * np.array([1e300, 1.0, 1.0])
    write_csv(tmp_path / "huge_features.csv", scaled, x[:, 0] + 0.1 * x[:, 1])
    cli_ok("train", "--dataset", "csv:huge_features.csv", *FAST, "--dtype", dtype, "--out", "run", cwd=tmp_path)
    loss = metrics(tmp_path / "run")["test_loss"]
    assert np.isfinite(loss) and loss < 0.5


# --- run folders ---------------------------------------------------------------------------


def test_out_onto_a_finished_run_is_refused_unless_overwrite(tmp_path):
    cli_ok("train", "--epochs", "1", "--out", "run", cwd=tmp_path)
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    message = cli_user_error("train", *FAST, "--out", "run", cwd=tmp_path)
    assert "already holds a run" in message and "--overwrite" in message
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before
    assert (tmp_path / "run" / "confusion.png").exists()
    cli_ok("train", *FAST, "--seed", "1", "--overwrite", "--out", "run", cwd=tmp_path)
    assert (tmp_path / "run" / "model.safetensors").read_bytes() != before
    assert not (tmp_path / "run" / "confusion.png").exists()  # the old run's figures went with it
    assert metrics(tmp_path / "run")["seed"] == 1
    assert "give one of them" in cli_user_error("train", "--resume", "run", "--overwrite", cwd=tmp_path)


def test_a_folder_being_trained_into_is_locked(tmp_path):
    (tmp_path / "run").mkdir()
    holder = os.open(tmp_path / "run", os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # as a train process writing into it holds it
    try:
        message = cli_user_error("train", *FAST, "--out", "run", cwd=tmp_path)
        assert "another backprop process is training into this folder" in message
    finally:
        os.close(holder)
    assert list((tmp_path / "run").iterdir()) == []  # the refused run wrote nothing


def test_two_real_processes_cannot_share_a_folder(tmp_path):
    first = start_training(tmp_path, "--epochs", "400", "--checkpoint-every", "5", "--no-plots", "--quiet")
    try:
        _wait_for(tmp_path / "run" / "checkpoint.safetensors", first)
        message = cli_user_error("train", *FAST, "--overwrite", "--out", "run", cwd=tmp_path)
        assert "another backprop process" in message
        assert "another backprop process" in cli_user_error("train", "--resume", "run", cwd=tmp_path)
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def test_default_folders_of_one_second_do_not_collide(tmp_path):
    processes = [
        start_cli("train", *FAST, cwd=tmp_path)
        for _ in range(3)
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 3 and all((folder / "model.safetensors").exists() for folder in folders)


# --- no lost runs ---------------------------------------------------------------------------


def test_a_failed_figure_keeps_the_finished_model(tmp_path):
    """Before: a figure that could not be written deleted the whole folder, model included."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "confusion.png").mkdir()  # a folder where the figure would go: writing it fails
    result = run_cli("train", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "backprop: warning: could not draw the figures" in result.stderr
    assert "backprop report run" in result.stderr
    assert bp.load(tmp_path / "run" / "model.safetensors") is not None
    assert (tmp_path / "run" / "metrics.json").exists()


def _limit_file_size(limit: int):
    def limit_it():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_it


def test_a_first_checkpoint_that_cannot_be_written_stops_at_once(tmp_path):
    """A disk that cannot take the result (files over 64 KiB fail, as on a full disk): one line after
    the first epoch, not 60 epochs of training, and no folder left behind."""
    started = time.monotonic()
    message = cli_user_error(
        "train", "--epochs", "60", "--no-plots", "--out", "run", cwd=tmp_path, preexec_fn=_limit_file_size(1 << 16)
    )
    assert "cannot write the checkpoint" in message and "training stopped at epoch 1" in message
    assert time.monotonic() - started < 60
    assert not (tmp_path / "run").exists()


def test_a_failed_model_write_keeps_the_weights_and_resume_finishes_the_run(tmp_path, monkeypatch):
    """The model cannot be written (a full disk, simulated): the folder and its finished checkpoint stay,
    the one-line error says how to finish, and --resume then writes the model, metrics and figures."""
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(train_command.bp, "save", full_disk)
    assert command_line(["train", "--epochs", "2", "--quiet", "--out", "run"]) == 2
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()
    assert not (tmp_path / "run" / "model.safetensors").exists()
    monkeypatch.undo()
    resumed = cli_ok("train", "--resume", "run", cwd=tmp_path)
    assert "-> run" in resumed.stdout
    for name in ("model.safetensors", "metrics.json", "curves.png", "confusion.png"):
        assert (tmp_path / "run" / name).exists(), name


def test_sigterm_is_a_clean_stop_and_no_plots_survives_resume(tmp_path):
    """SIGTERM (timeout, docker stop, Slurm) does what Ctrl-C does: the step finishes, the checkpoint
    is written, the resume command printed, exit 143, nothing half-written; the resumed run keeps
    --no-plots and finishes."""
    run = start_training(tmp_path, "--epochs", "150", "--checkpoint-every", "5", "--no-plots", "--quiet")
    _wait_for(tmp_path / "run" / "checkpoint.safetensors", run)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Resume with: backprop train --resume run" in err
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == ["checkpoint.safetensors"]
    state = bp.read_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert state.metadata["config"]["no_plots"] is True and not state.finished
    cli_ok("train", "--resume", "run", "--quiet", cwd=tmp_path)
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == [
        "checkpoint.safetensors", "metrics.json", "model.safetensors",
    ]
    assert metrics(tmp_path / "run")["epochs_run"] == 150


def test_sigterm_outside_training_leaves_nothing_half_written(tmp_path):
    """SIGTERM while the figures are drawn (here: while the first one is written, by a subprocess
    that sends it to itself) ends with exit 143, no temporary file, and the finished run kept."""
    script = (
        "import os, signal, sys\n"
        "import backprop.files as files\n"
        "from backprop.cli import main\n"
        "real = files.atomic_write\n"
        "def write(path, mode='wb'):\n"
        "    if str(path).endswith('.png'):\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return real(path, mode)\n"
        "import backprop.plots as plots\n"
        "plots.atomic_write = write\n"
        "sys.exit(main(['train', '--epochs', '2', '--quiet', '--out', 'run']))\n"
    )
    result = run_cli(code=script, cwd=tmp_path, timeout=300)
    assert result.returncode == 143, result.stderr
    assert result.stderr.strip().endswith("backprop: terminated (SIGTERM)")
    names = sorted(path.name for path in (tmp_path / "run").iterdir())
    assert names == ["checkpoint.safetensors", "metrics.json", "model.safetensors"], names


def start_training(tmp_path: Path, *args: str) -> subprocess.Popen:
    """``backprop train ... --out run`` in the background, in ``tmp_path``."""
    return start_cli("train", *args, "--out", "run", cwd=tmp_path)


# --- paths ----------------------------------------------------------------------------------


def test_a_csv_run_works_from_any_directory(tmp_path, table):
    x, positive_rows = table
    (tmp_path / "data").mkdir()
    (tmp_path / "elsewhere").mkdir()
    write_csv(tmp_path / "data" / "table.csv", x, positive_rows.astype(int))
    cli_ok("train", "--dataset", "csv:table.csv", *FAST, "--out", "../run", cwd=tmp_path / "data")
    assert record(tmp_path / "run")["dataset"] == f"csv:{tmp_path / 'data' / 'table.csv'}"
    cli_ok("report", str(tmp_path / "run"), cwd=tmp_path / "elsewhere")
    evaluated = cli_ok("evaluate", str(tmp_path / "run"), cwd=tmp_path / "elsewhere").stdout
    assert "test split" in evaluated


def test_paths_that_are_not_files_are_said_in_words(tmp_path):
    (tmp_path / "folder" / "model.safetensors").mkdir(parents=True)
    os.mkfifo(tmp_path / "pipe.safetensors")
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    os.symlink("gone.safetensors", tmp_path / "dangling.safetensors")
    np.save(tmp_path / "x.npy", np.zeros(64))
    cases = {
        "folder": "is a folder, not a file",
        "pipe.safetensors": "is a FIFO (named pipe), not a file",
        "loop-a": "is a symbolic-link loop",
        "dangling.safetensors": "is a symbolic link to gone.safetensors, which does not exist",
        "missing.safetensors": "no such model file",
    }
    for name, words in cases.items():
        assert words in cli_user_error("predict", name, "x.npy", cwd=tmp_path), name
    assert "is a FIFO" in cli_user_error("train", "--dataset", "csv:pipe.safetensors", *FAST, cwd=tmp_path)
    assert "is a file, not a folder" in cli_user_error("train", "--resume", "x.npy", cwd=tmp_path)


def test_a_model_file_without_read_permission_says_so(tmp_path, monkeypatch):
    """Root reads any file, so the refusal is simulated where the check opens the file."""
    bp.save(bp.Sequential(bp.Linear(64, 10)), tmp_path / "model.safetensors")
    real_open = os.open

    def denied(path, *args, **kwargs):
        if str(path).endswith("model.safetensors"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ValueError, match="permission denied: this user cannot read it"):
        runs.load_run(tmp_path / "model.safetensors")


# --- errors in the user's words ---------------------------------------------------------------


def test_errors_name_the_options_typed(tmp_path, table):
    message = cli_user_error("train", *FAST, "--val-fraction", "0.5", "--test-fraction", "0.6", cwd=tmp_path)
    assert "--val-fraction 0.5 and --test-fraction 0.6" in message and "train_val_test_split" not in message
    x, positive_rows = table
    write_csv(tmp_path / "small.csv", x[:2], positive_rows[:2].astype(int))
    message = cli_user_error("train", "--dataset", "csv:small.csv", "--task", "regress", *FAST, cwd=tmp_path)
    assert "--val-fraction" in message and "train_val_test_split" not in message
    write_csv(tmp_path / "data.csv", x, positive_rows.astype(int))
    message = cli_user_error("train", "--dataset", "csv:data.csv", "--target", "price", *FAST, cwd=tmp_path)
    assert message.startswith("backprop: error: --target price: no column named 'price'")
    assert "load_csv" not in message


def test_distributed_in_one_process_says_so(tmp_path):
    result = cli_ok("train", "--distributed", *FAST, "--out", "run", cwd=tmp_path)
    assert "MPI reports one process" in result.stderr and "mpiexec -n 2" in result.stderr


# --- dead units -------------------------------------------------------------------------------


def test_dead_units_are_found_drawn_and_reported(tmp_path):
    model = bp.Sequential(bp.Linear(4, 3, rng=0, dtype=np.float64), bp.ReLU(), bp.Linear(3, 2, rng=0))
    model.layers[0].params["bias"][:] = [-100.0, 0.0, 100.0]  # unit 0 can never fire
    x = np.random.default_rng(0).uniform(-1, 1, (50, 4))
    assert dead_units(model, x).tolist() == [True, False, False]
    assert dead_units(bp.Sequential(bp.Linear(4, 3), bp.Tanh()), x.astype(np.float32)) is None
    path = plots.plot_first_layer_weights(
        np.zeros((3, 4)), tmp_path / "weights.png", image_shape=(2, 2), dead=[True, False, False]
    )
    assert path.stat().st_size > 0
    result = cli_ok("train", "--epochs", "2", "--out", "run", cwd=tmp_path)
    trained = bp.load(tmp_path / "run" / "model.safetensors")
    test_split = train_command.data.load(
        "digits", data_dir=None, seed=0, test_fraction=0.2, val_fraction=0.1, dtype=np.dtype(np.float32)
    )
    dead = dead_units(trained, test_split.x_test)
    assert metrics(tmp_path / "run")["dead_first_layer_units"] == dead.sum()
    assert (f"note: {dead.sum()} of 256 first-layer units are dead" in result.stdout) == bool(dead.any())


@pytest.mark.parametrize("plots_drawn", [True, False])
def test_the_dead_units_note_points_to_the_figure_only_when_one_is_drawn(plots_drawn):
    from types import SimpleNamespace

    model = bp.Sequential(bp.Linear(4, 3, rng=0, dtype=np.float64), bp.ReLU(), bp.Linear(3, 2, rng=0))
    model.layers[0].params["bias"][:] = [-100.0, 0.0, 100.0]
    said = []
    dataset = SimpleNamespace(x_test=np.random.default_rng(0).uniform(-1, 1, (50, 4)))
    train_command._dead_units(said.append, model, dataset, plots=plots_drawn)
    (note,) = said
    assert note.startswith("note: 1 of 3 first-layer units are dead")
    assert note.endswith("(weights.png marks them)") == plots_drawn


def test_a_two_class_image_model_answers_in_its_labels_in_predict_and_on_the_page(tmp_path):
    """IDX digits labelled 3 and 7 train one sigmoid logit; predict and the page's API answer 3 or 7,
    with two probabilities, not the argmax of one column."""
    from backprop.web.drawing import Drawing

    images, labels = bp.datasets.load_digits()
    keep = np.isin(labels, [3, 7])
    pixels = np.round(images[keep, 0] * 255).astype(np.uint8)
    bp.datasets.save_idx(tmp_path / "images.idx", pixels)
    bp.datasets.save_idx(tmp_path / "labels.idx", labels[keep].astype(np.uint8))
    result = cli_ok("train", "--dataset", "idx:images.idx,labels.idx", "--epochs", "10", "--no-plots", "--out", "run",
                    cwd=tmp_path)
    assert "SigmoidBinaryCrossEntropy" in result.stdout
    saved = record(tmp_path / "run")
    assert saved["outputs"] == 1 and saved["preprocessing"]["classes"] == [3, 7]
    assert metrics(tmp_path / "run")["test_accuracy"] > 0.95
    sevens = pixels[labels[keep] == 7][:3]
    np.save(tmp_path / "sevens.npy", sevens)
    answers = cli_ok("predict", "run", "sevens.npy", "--top", "2", cwd=tmp_path).stdout.splitlines()
    assert all(line.split(": ")[1].startswith("7 (") and ", 3 (" in line for line in answers), answers
    page = Drawing(runs.load_run(tmp_path / "run"))
    answer = page.answer(np.kron(sevens[0] / 255.0, np.ones((4, 4))))
    assert answer["label"] == 7 and len(answer["probabilities"]) == 2
    assert abs(sum(answer["probabilities"]) - 1) < 1e-5


@pytest.mark.parametrize(
    "read",
    [bp.load, bp.read_checkpoint, bp.io.load_metadata, bp.datasets.load_idx,
     lambda path: bp.datasets.load_csv(path, -1), bp.images.read_image],
    ids=["load", "read_checkpoint", "load_metadata", "load_idx", "load_csv", "read_image"],
)
def test_every_reader_says_what_a_path_is_instead_of_hanging_or_misnaming_it(tmp_path, read):
    """Before: a FIFO made bp.load, load_csv and load_idx wait for ever; a folder was "No such device"
    or "Errno 21"; a symbolic-link loop was "no such file"."""
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    for name, words in [("pipe", "is a FIFO (named pipe), not a file"), ("folder", "is a folder, not a file"),
                        ("loop-a", "is a symbolic-link loop")]:
        with pytest.raises(ValueError, match=re.escape(words)):
            read(tmp_path / name)
    with pytest.raises((FileNotFoundError, ValueError), match="no such"):
        read(tmp_path / "missing")


def test_the_readmes_example_image_reads_as_a_seven(tmp_path):
    """README: ``backprop predict RUN examples/seven.png`` (a 7 drawn dark on white, as in a paint program)."""
    seven = REPOSITORY / "examples" / "seven.png"
    cli_ok("train", *FAST, "--out", "run", cwd=tmp_path)
    answer = cli_ok("predict", "run", seven, cwd=tmp_path).stdout
    assert answer.startswith(f"{seven}: 7 ("), answer
