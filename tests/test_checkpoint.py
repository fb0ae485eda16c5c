"""Checkpoints and resume in the library: a run stopped anywhere and resumed ends bit-identical.

A "crash" here is an exception raised from inside the model's forward after a chosen number
of steps: the checkpoint on disk is then whatever fit last wrote, exactly as after a kill.
The command-line tests (test_resume_cli.py) kill a real process.
"""

import errno
import json

import numpy as np
import pytest
from safetensors import safe_open

import backprop as bp
from backprop import checkpoint as checkpoint_module
from backprop.container import CHECKPOINT, write_safetensors
from backprop.training import CheckpointError


def blobs(n=203, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return (centres[labels] + rng.standard_normal((n, 2)) * 1.5).astype(np.float32), labels


class CrashError(Exception):
    pass


class CrashAfter(bp.Layer):
    """Identity that raises on its ``limit``-th forward call in training mode (a stand-in for SIGKILL)."""

    def __init__(self, limit=None):
        super().__init__()
        self.limit, self.calls = limit, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.limit is not None and self.calls >= self.limit:
                raise CrashError(f"crash at training forward {self.calls}")
        return x

    def backward(self, gy):
        return gy


def setup(optimizer="sgd", crash_after=None, dropout=True, schedule=True):
    rng = np.random.default_rng(7)
    layers = [bp.Linear(2, 32, rng=rng), bp.ReLU()]
    if dropout:
        layers.append(bp.Dropout(0.2, rng=11))
    layers += [CrashAfter(crash_after), bp.Linear(32, 3, rng=rng)]
    model = bp.Sequential(*layers)
    if optimizer == "sgd":
        opt = bp.SGD(model, 0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    elif optimizer == "sgd-fused":  # plain and momentum SGD take the fused update (optim.FusedSGDStep)
        opt = bp.SGD(model, 0.1, momentum=0.9)
    else:
        opt = bp.Adam(model, 0.01, weight_decay=1e-4)
    sched = bp.CosineLR(opt, 6) if schedule else None
    return model, opt, sched


def run(path=None, crash_after=None, resume=None, optimizer="sgd", every=5, **options):
    x, y = blobs()
    xv, yv = blobs(60, seed=1)
    model, opt, sched = setup(optimizer, crash_after)
    settings = {
        "epochs": 6,
        "batch_size": 16,
        "validation_data": (xv, yv),
        "seed": 3,
        "progress": False,
        "patience": 4,
        "schedule": sched,
    }
    settings.update(options)
    if path is not None:
        settings.update(checkpoint=path, checkpoint_every=every)
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), opt, x, y, resume=resume, **settings)
    return model, opt, history


def assert_same_run(a, b):
    (model_a, opt_a, history_a), (model_b, opt_b, history_b) = a, b
    for name, value in model_a.params.items():
        np.testing.assert_array_equal(value, model_b.params[name], err_msg=name)
    for key, value in opt_a.state_dict().items():
        np.testing.assert_array_equal(value, opt_b.state_dict()[key], err_msg=key)
    assert dict(history_a) == dict(history_b)
    assert (history_a.epochs_run, history_a.best_epoch, history_a.stop_reason) == (
        history_b.epochs_run,
        history_b.best_epoch,
        history_b.stop_reason,
    )


@pytest.mark.parametrize("optimizer", ["sgd", "sgd-fused", "adam"])
@pytest.mark.parametrize("crash_after", [7, 14, 33, 45, 59])
def test_a_run_crashed_anywhere_and_resumed_is_bit_identical(tmp_path, optimizer, crash_after):
    """13 steps per epoch, a checkpoint every 5 steps and after each epoch: the last checkpoint
    before the crash is mid-epoch (steps 5, 30, 40, 55) or an epoch's end (step 13); Dropout,
    momentum/Adam, a cosine schedule, validation and early stopping all take part."""
    reference = run(optimizer=optimizer)
    path = tmp_path / "checkpoint.safetensors"
    with pytest.raises(CrashError):
        run(path, crash_after=crash_after, optimizer=optimizer)
    saved = bp.read_checkpoint(path)
    assert not saved.finished and saved.state["step"] < crash_after
    assert_same_run(reference, run(path, resume=path, optimizer=optimizer))


def test_a_checkpoint_of_the_first_layout_still_resumes_bit_identically(tmp_path):
    """Checkpoints written before the layers' ``extra_state`` kept Dropout's generator under
    ``"layer_rngs": {index: state}``; a run stopped then still resumes exactly."""
    reference = run()
    path = tmp_path / "checkpoint.safetensors"
    with pytest.raises(CrashError):
        run(path, crash_after=33)
    saved = bp.read_checkpoint(path)
    state = dict(saved.state)
    layers = state.pop("layer_states")
    state["layer_rngs"] = {key.split(".")[0]: value for key, value in layers.items()}
    old = tmp_path / "old.safetensors"
    header = {"architecture": json.dumps(saved.architecture), "state": json.dumps(state)}
    with open(old, "wb") as file:
        write_safetensors(file, saved.tensors, CHECKPOINT.metadata(header))
    assert "layer_states" not in bp.read_checkpoint(old).state
    assert_same_run(reference, run(old, resume=old))


def test_resume_mid_epoch_holds_the_permutation_and_running_sums(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    with pytest.raises(CrashError):
        run(path, crash_after=9)
    saved = bp.read_checkpoint(path)
    assert (saved.state["epoch"], saved.state["batch"], saved.state["step"]) == (0, 5, 5)
    assert saved.tensors["order"].shape == (203,)
    assert saved.state["epoch_loss"] > 0 and saved.state["epoch_correct"] >= 0


def test_a_finished_checkpoint_resumes_to_the_same_result_without_a_step(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    first = run(path)
    assert bp.read_checkpoint(path).finished
    again = run(path, resume=path)
    assert_same_run(first, again)


def test_checkpoint_holds_everything_and_no_pickle(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    run(path, epochs=2, checkpoint_metadata={"config": {"lr": 0.1}})
    with safe_open(str(path), framework="np") as file:
        names = set(file.keys())
        header = file.metadata()
    assert header["format"] == "backprop-checkpoint"
    assert {"model/0.weight", "optimizer/momentum_buffer.0.weight", "best/0.weight"} <= names
    state = json.loads(header["state"])
    assert state["user"] == {"config": {"lr": 0.1}}
    assert state["schedule"]["type"] == "CosineLR" and state["schedule"]["epoch"] == 2
    # the Dropout layer's extra_state, by its index in model.modules() (0 is the model itself)
    assert state["rng"]["bit_generator"] == "PCG64" and set(state["layer_states"]) == {"3.rng"}
    assert state["early_stopping"]["patience"] == 4 and len(state["history"]["lists"]["loss"]) == 2
    assert b"pickle" not in path.read_bytes() and path.read_bytes()[8:9] == b"{"


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    run(path, epochs=1)
    with pytest.raises(ValueError, match=r"cannot resume.*other arguments: batch_size 16 \(now 8\)"):
        run(resume=path, batch_size=8, epochs=1)
    with pytest.raises(ValueError, match=r"cannot resume.*made with SGD, this run uses Adam"):
        run(resume=path, optimizer="adam", epochs=1)
    x, y = blobs()
    other = bp.Sequential(bp.Linear(2, 5), bp.ReLU(), bp.Linear(5, 3))
    with pytest.raises(ValueError, match="another architecture"):
        bp.fit(other, bp.SoftmaxCrossEntropy(), bp.SGD(other, 0.1), x, y, resume=path, progress=False)
    model_file = tmp_path / "model.safetensors"
    bp.save(other, model_file)
    with pytest.raises(ValueError, match="not a backprop checkpoint \\(a backprop model file"):
        bp.read_checkpoint(model_file)


def test_a_refused_resume_changes_nothing(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    run(path, epochs=1)
    model, opt, sched = setup()
    before = model.state_dict()
    x, y = blobs()
    with pytest.raises(ValueError):
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, x, y, epochs=6, batch_size=8, seed=3, resume=path,
               schedule=sched, progress=False)
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)
    assert opt.t == 0 and sched.epoch == 0


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EACCES])
def test_a_failed_write_keeps_the_previous_checkpoint_and_says_so(tmp_path, monkeypatch, capsys, failure):
    """Disk full or permission denied on the third write: the second checkpoint stays whole and
    training goes on."""
    path = tmp_path / "checkpoint.safetensors"
    real = checkpoint_module.atomic_write
    calls = {"n": 0}
    kept = {}

    def flaky(target, mode="wb"):
        calls["n"] += 1
        if calls["n"] == 3:
            kept["bytes"] = path.read_bytes()
            raise OSError(failure, "simulated failure")
        return real(target, mode)

    monkeypatch.setattr(checkpoint_module, "atomic_write", flaky)
    with pytest.raises(CrashError):
        run(path, crash_after=17)
    err = capsys.readouterr().err
    assert "could not write the checkpoint" in err and "the previous checkpoint is kept" in err
    assert calls["n"] >= 4
    # After the failed third write the fourth succeeded; the second one was intact until then.
    assert bp.read_checkpoint(path).state["step"] > 10
    second = tmp_path / "second.safetensors"
    second.write_bytes(kept["bytes"])
    assert bp.read_checkpoint(second).state["step"] == 10
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_write_that_fails_half_way_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.safetensors"
    run(path, epochs=1)
    before = path.read_bytes()
    import os

    def broken_fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(CheckpointError, match="cannot write the checkpoint"):
        run(path, epochs=1)  # this call's first write failed: it stops rather than train on
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EACCES])
def test_a_first_checkpoint_that_cannot_be_written_stops_training_at_once(tmp_path, monkeypatch, failure):
    """Nothing this run does could be kept: fit stops at the first checkpoint (step 10 of 60 here)
    instead of training every epoch into a folder that cannot take the result."""
    path = tmp_path / "checkpoint.safetensors"

    def failing(target, mode="wb"):
        raise OSError(failure, "simulated failure")

    monkeypatch.setattr(checkpoint_module, "atomic_write", failing)
    model, opt, sched = setup()
    x, y = blobs()
    with pytest.raises(CheckpointError, match=r"training stopped at epoch 1, step 10") as caught:
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, x, y, epochs=6, batch_size=8, seed=3, schedule=sched,
               checkpoint=path, checkpoint_every=10, progress=False)
    assert isinstance(caught.value.__cause__, OSError) and caught.value.__cause__.errno == failure
    assert opt.t == 10 and not path.exists()


def test_checkpoint_every_needs_a_path_and_a_positive_count():
    x, y = blobs()
    model, opt, _ = setup()
    with pytest.raises(ValueError, match="checkpoint_every needs checkpoint=PATH"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, x, y, checkpoint_every=3, progress=False)
    with pytest.raises(ValueError, match="checkpoint_every must be a positive integer or None, got 0"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, x, y, checkpoint="c", checkpoint_every=0, progress=False)


def test_schedule_must_belong_to_the_optimizer():
    x, y = blobs()
    model, opt, _ = setup()
    other = bp.SGD(model, 0.1)
    with pytest.raises(ValueError, match="schedule must be built on the optimiser"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, x, y, schedule=bp.StepLR(other, 2), progress=False)


def test_callbacks_receive_the_state():
    seen = []
    run(epochs=3, callbacks=[lambda state: seen.append((state.epoch, state.step, round(state.optimizer.lr, 6)))])
    assert [epoch for epoch, _, _ in seen] == [1, 2, 3]
    assert [step for _, step, _ in seen] == [13, 26, 39]
    # The schedule has stepped before the callbacks run: they see the next epoch's rate.
    assert seen[0][2] == round(0.1 * (1 + np.cos(np.pi / 6)) / 2, 6)


def test_a_checkpoint_in_a_missing_folder_is_refused_before_training(tmp_path):
    x, y = blobs()
    model, opt, _ = setup()
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"fit: checkpoint .*the folder .*nowhere does not exist"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, x, y, checkpoint=tmp_path / "nowhere" / "c.safetensors",
               progress=False)
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_numpy_integers_as_arguments_and_metadata_that_is_not_json(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    run(path, epochs=np.int64(1), seed=np.int64(3), patience=np.int64(2))
    assert bp.read_checkpoint(path).fit_arguments["seed"] == 3
    with pytest.raises(TypeError, match="checkpoint_metadata must be JSON-serialisable"):
        run(path, epochs=1, checkpoint_metadata={"array": np.zeros(2)})


def test_a_cnn_run_crashed_and_resumed_is_bit_identical(tmp_path):
    """Conv2d-ReLU-MaxPool2d blocks reuse buffers between steps; a resumed run, which starts
    without them, still ends bit-identical, and so does a second run of the same seed."""
    rng = np.random.default_rng(5)
    x = rng.random((90, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 3, 90)

    def cnn_run(crash_after=None, resume=None, path=None):
        layer_rng = np.random.default_rng(9)
        model = bp.Sequential(
            bp.Conv2d(1, 4, 3, padding=1, rng=layer_rng),
            bp.ReLU(),
            bp.MaxPool2d(2),
            CrashAfter(crash_after),
            bp.Conv2d(4, 6, 3, padding=1, rng=layer_rng),
            bp.ReLU(),
            bp.MaxPool2d(2),
            bp.Flatten(),
            bp.Linear(24, 3, rng=layer_rng),
        )
        opt = bp.SGD(model, 0.05, momentum=0.9)
        settings = {"epochs": 3, "batch_size": 16, "seed": 2, "progress": False}
        if path is not None:
            settings.update(checkpoint=path, checkpoint_every=4)
        history = bp.fit(model, bp.SoftmaxCrossEntropy(), opt, x, y, resume=resume, **settings)
        return model, opt, history

    straight = cnn_run()
    assert_same_run(straight, cnn_run())
    path = tmp_path / "cnn.ckpt"
    with pytest.raises(CrashError):
        cnn_run(crash_after=11, path=path)
    assert_same_run(straight, cnn_run(resume=path, path=path))
