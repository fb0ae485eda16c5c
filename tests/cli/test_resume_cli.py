"""`backprop train --checkpoint-every / --resume` with real processes: SIGKILL, Ctrl-C, bad resumes.

Each kill happens while the run is part-way through an epoch (the test waits until the
checkpoint on disk says so); the resumed run must write a model bit-identical to the run that
was never stopped, on the same machine with the same thread count.
"""

import os
import signal
import time

import numpy as np
import pytest
from conftest import cli_ok, cli_user_error, start_cli
from safetensors import safe_open
from safetensors.numpy import load_file

import backprop as bp

TRAIN = ["train", "--epochs", "30", "--checkpoint-every", "7", "--no-plots"]
# One BLAS thread in every run, so that the stopped and resumed runs sum as the reference does.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
RUN = {"env": ENV, "timeout": 300}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    cli_ok(*TRAIN, "--out", "run", "--quiet", cwd=folder, **RUN)
    return folder / "run"


def position(path):
    """(epoch, batch) of the checkpoint at ``path``, or None while there is none."""
    try:
        with safe_open(str(path), framework="np") as file:
            import json

            state = json.loads(file.metadata()["state"])
    except Exception:
        return None
    return state["epoch"], state["batch"]


def start_and_wait(folder, min_epoch):
    """Start a run and return it once its checkpoint is mid-epoch at or after ``min_epoch``."""
    process = start_cli(*TRAIN, "--out", "run", cwd=folder, env=ENV)
    checkpoint = folder / "run" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        where = position(checkpoint)
        if where is not None and where[0] >= min_epoch and where[1] > 0:
            return process
        if process.poll() is not None:
            raise AssertionError(f"the run ended before it could be stopped: {process.communicate()}")
        time.sleep(0.002)
    process.kill()
    raise AssertionError("no mid-epoch checkpoint appeared")


def assert_same_model(folder, reference):
    a, b = load_file(folder / "model.safetensors"), load_file(reference / "model.safetensors")
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_sigkill_mid_epoch_twice_then_resume_is_bit_identical(tmp_path, reference):
    process = start_and_wait(tmp_path, min_epoch=1)
    process.kill()
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    first = position(tmp_path / "run" / "checkpoint.safetensors")
    assert first[1] > 0, "the checkpoint left by the kill should be mid-epoch"

    # Resume, and kill the resumed process too, later in the run.
    resumed = start_cli("train", "--resume", "run", "--no-plots", cwd=tmp_path, env=ENV)
    checkpoint = tmp_path / "run" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        where = position(checkpoint)
        if where is not None and where > first and where[1] > 0:
            break
        assert resumed.poll() is None, resumed.communicate()
        time.sleep(0.002)
    resumed.kill()
    resumed.wait(timeout=30)

    done = cli_ok("train", "--resume", "run", "--no-plots", cwd=tmp_path, **RUN)
    assert "resuming from run/checkpoint.safetensors" in done.stdout
    assert_same_model(tmp_path / "run", reference)
    import json

    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    assert metrics["history"] == expected["history"] and metrics["test_accuracy"] == expected["test_accuracy"]


def test_ctrl_c_writes_a_checkpoint_says_how_to_resume_and_exits_130(tmp_path, reference):
    process = start_and_wait(tmp_path, min_epoch=2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].endswith("Resume with: backprop train --resume run")
    assert "interrupted; the state is in run/checkpoint.safetensors" in lines[0]
    assert not (tmp_path / "run" / "metrics.json").exists()
    cli_ok("train", "--resume", "run", "--no-plots", "--quiet", cwd=tmp_path, **RUN)
    assert_same_model(tmp_path / "run", reference)


def test_resume_refuses_what_it_cannot_continue(tmp_path, reference):
    (tmp_path / "empty").mkdir()
    assert "empty: no checkpoint.safetensors" in cli_user_error("train", "--resume", "empty", cwd=tmp_path, **RUN)
    assert "missing: no such run folder" in cli_user_error("train", "--resume", "missing", cwd=tmp_path, **RUN)
    assert "already finished" in cli_user_error("train", "--resume", str(reference), cwd=tmp_path, **RUN)

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "checkpoint.safetensors").write_bytes(os.urandom(300))
    assert "corrupt/checkpoint.safetensors" in cli_user_error("train", "--resume", "corrupt", cwd=tmp_path, **RUN)

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "checkpoint.safetensors").write_bytes((reference / "model.safetensors").read_bytes())
    assert "not a backprop checkpoint" in cli_user_error("train", "--resume", "foreign", cwd=tmp_path, **RUN)

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    whole = (reference / "checkpoint.safetensors").read_bytes()
    (truncated / "checkpoint.safetensors").write_bytes(whole[: len(whole) // 2])
    assert "truncated/checkpoint.safetensors" in cli_user_error("train", "--resume", "truncated", cwd=tmp_path, **RUN)

    assert "saved configuration; leave out --epochs, --lr" in cli_user_error(
        "train", "--resume", "foreign", "--epochs", "5", "--lr", "0.5", cwd=tmp_path, **RUN
    )


def test_every_epoch_writes_a_checkpoint_and_the_last_one_is_finished(tmp_path):
    cli_ok("train", "--epochs", "3", "--out", "run", "--no-plots", "--quiet", cwd=tmp_path, **RUN)
    saved = bp.read_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert saved.finished and saved.state["epoch"] == 3 and saved.state["batch"] == 0
    assert saved.metadata["config"]["epochs"] == 3 and "mean" not in saved.metadata["preprocessing"]
