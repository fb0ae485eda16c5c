"""Model files and checkpoints are the same bytes for the same content, so ``sha256sum`` compares runs.

The safetensors library writes its metadata from a Rust HashMap, in an order that changes from
call to call (three saves of one model in one process gave three sha256 sums); backprop writes
the format itself (``files.write_safetensors``). These tests prove that the library reads those
files back exactly, for every dtype backprop writes, that they differ from the library's own
only in the order of the metadata's keys, and that equal content gives equal bytes in one
process, across processes, and across two real ``backprop train`` runs with the same seed.
"""

import hashlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy
from conftest import start_cli
from safetensors import safe_open

import backprop as bp
from backprop.callbacks import EarlyStopping
from backprop.checkpoint import save_checkpoint
from backprop.files import SAFETENSORS_DTYPES, write_safetensors
from backprop.state import TrainState

# Parameters and optimiser buffers (float32, float64) and a checkpoint's permutation (int64),
# each as a matrix, a vector, a 0-d array, a transposed view and, big-endian, as a file from
# another machine would hold it.
BACKPROP_DTYPES = [np.float32, np.float64, np.int64]


def tensors_of(dtype):
    rng = np.random.default_rng(0)
    matrix = (rng.standard_normal((3, 5)) * 100).astype(dtype)
    return {
        "model/0.weight": matrix,
        "vector": np.arange(7).astype(dtype),
        "scalar": np.array(3, dtype),
        "transposed": matrix.T,
        "big-endian": matrix.astype(np.dtype(dtype).newbyteorder(">")),
    }


def written(tensors, metadata=None):
    buffer = io.BytesIO()
    write_safetensors(buffer, tensors, metadata)
    return buffer.getvalue()


def header_of(data):
    size = int.from_bytes(data[:8], "little")
    return size, data[8 : 8 + size]


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mlp():
    return bp.Sequential(bp.Linear(6, 5, rng=0), bp.ReLU(), bp.Linear(5, 3, dtype=np.float32, rng=1))


@pytest.mark.parametrize("dtype", BACKPROP_DTYPES)
def test_the_library_reads_back_exactly_what_was_written(tmp_path, dtype):
    tensors = tensors_of(dtype)
    metadata = {"format": "backprop", "architecture": json.dumps({"é": [1, 2]}), "user": "{}"}
    path = tmp_path / "file.safetensors"
    path.write_bytes(written(tensors, metadata))
    loaded = safetensors.numpy.load_file(str(path))
    assert loaded.keys() == tensors.keys()
    for name, array in tensors.items():
        assert loaded[name].dtype == np.dtype(dtype) and loaded[name].shape == array.shape, name
        assert np.array_equal(loaded[name], array), name
    with safe_open(str(path), framework="np") as file:
        assert file.metadata() == metadata
        assert set(file.keys()) == set(tensors)
        assert np.array_equal(file.get_tensor("transposed"), tensors["transposed"])


def test_the_bytes_follow_the_format_and_are_the_librarys_where_its_order_is_fixed():
    """With one metadata entry the library's own order is fixed too: the bytes are its bytes,
    for each of the twelve dtypes it names, given in shuffled order."""
    rng = np.random.default_rng(1)
    kinds = list(SAFETENSORS_DTYPES)
    tensors = {f"t{i}": (rng.standard_normal((2, i + 1)) * 50).astype(kinds[i]) for i in rng.permutation(len(kinds))}
    for metadata in (None, {"format": "backprop"}):
        data = written(tensors, metadata)
        assert data == safetensors.numpy.save(tensors, metadata=metadata)
    size, header = header_of(data)
    json_text = header.rstrip(b" ")
    assert size % 8 == 0 and len(header) - len(json_text) < 8
    assert json_text.startswith(b"{") and json_text.endswith(b"}")
    entries = {name: entry for name, entry in json.loads(header).items() if name != "__metadata__"}
    ends = 0
    for name, entry in entries.items():  # back to back from 0 to the file's end, each item-aligned
        begin, end = entry["data_offsets"]
        assert begin == ends and begin % tensors[name].dtype.itemsize == 0, name
        ends = end
    assert 8 + size + ends == len(data)


def test_the_metadata_order_is_fixed_where_the_librarys_is_not():
    tensors = tensors_of(np.float32)
    metadata = {key: f"value {key}" for key in ("user", "format", "architecture", "backprop_version", "z", "a")}
    reordered = dict(reversed(list(metadata.items())))
    data = written(tensors, metadata)
    assert data == written(tensors, reordered)
    assert list(json.loads(header_of(data)[1])["__metadata__"]) == sorted(metadata)
    # (the library copies raw memory, so it is handed the transposed view as a C-ordered copy)
    library = safetensors.numpy.save({k: np.asarray(v, order="C") for k, v in tensors.items()}, metadata=metadata)
    # the library's file differs only in the order of the header's keys
    assert json.loads(header_of(library)[1]) == json.loads(header_of(data)[1])
    assert library[8 + header_of(library)[0] :] == data[8 + header_of(data)[0] :]


def test_what_the_format_cannot_hold_is_refused_by_name():
    with pytest.raises(TypeError, match=r"write_safetensors: tensor 'z' has dtype complex128; expected one of"):
        written({"z": np.zeros(2, complex)})
    with pytest.raises(TypeError, match=r"write_safetensors: metadata must map strings to strings, got \{'epochs': 3\}"):
        written({"w": np.zeros(2)}, {"epochs": 3})


SAVE_SCRIPT = """
import sys
import numpy as np
import backprop as bp
model = bp.Sequential(bp.Linear(6, 5, rng=0), bp.ReLU(), bp.Linear(5, 3, dtype=np.float32, rng=1))
model.output_transform = "softmax"
bp.save(model, sys.argv[1], metadata={"run": "same", "accuracy": 0.5, "nested": {"b": 1, "a": [1, 2]}})
"""


@pytest.mark.slow
def test_save_writes_the_same_bytes_every_time_and_in_every_process(tmp_path):
    paths = [tmp_path / f"here-{i}.safetensors" for i in range(3)]
    for path in paths:
        model = mlp()
        model.output_transform = "softmax"
        bp.save(model, path, metadata={"run": "same", "accuracy": 0.5, "nested": {"b": 1, "a": [1, 2]}})
    for index in range(2):
        path = tmp_path / f"process-{index}.safetensors"
        subprocess.run([sys.executable, "-c", SAVE_SCRIPT, str(path)], check=True, timeout=120)
        paths.append(path)
    assert len({sha256(path) for path in paths}) == 1
    loaded = bp.load(paths[-1])
    for name, array in mlp().params.items():
        assert np.array_equal(loaded.params[name], array) and loaded.params[name].dtype == array.dtype


def test_a_checkpoint_of_the_same_state_is_the_same_bytes(tmp_path):
    """Written twice from one state (momentum buffers, a schedule, early stopping's best weights,
    a Dropout generator), with the same wall time: a checkpoint records it, so it must match."""
    x, y = bp.datasets.load_digits(flatten=True)
    model = bp.Sequential(bp.Linear(64, 16, rng=0), bp.ReLU(), bp.Dropout(0.2, rng=1), bp.Linear(16, 10, rng=2))
    optimizer = bp.SGD(model, lr=0.05, momentum=0.9)
    schedule = bp.CosineLR(optimizer, t_max=3)
    states = []
    bp.fit(
        model, bp.SoftmaxCrossEntropy(), optimizer, x[:200], y[:200], epochs=2, batch_size=50, patience=3,
        schedule=schedule, progress=False, callbacks=[states.append],
    )
    state = states[-1]
    assert state.early_stopping.best_weights is not None
    state.order = np.random.default_rng(3).permutation(200)  # as mid-epoch, with its permutation
    state.batch = 1
    paths = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for path in paths:
        save_checkpoint(state, path, {"epochs": 2}, finished=False, seconds=1.25, metadata={"config": {"lr": 0.05}})
    assert paths[0].read_bytes() == paths[1].read_bytes()
    saved = bp.read_checkpoint(paths[0])
    assert np.array_equal(saved.tensors["order"], state.order) and saved.state["history"]["seconds"] == 1.25
    fresh = TrainState(model, bp.SoftmaxCrossEntropy(), optimizer, np.random.default_rng(), early_stopping=EarlyStopping(3))
    save_checkpoint(fresh, tmp_path / "c.safetensors", {}, finished=False, seconds=0.0)
    save_checkpoint(fresh, tmp_path / "d.safetensors", {}, finished=False, seconds=0.0)
    assert sha256(tmp_path / "c.safetensors") == sha256(tmp_path / "d.safetensors")


@pytest.mark.slow
def test_two_training_runs_with_the_same_seed_write_byte_identical_model_files(tmp_path):
    """Two real ``backprop train`` runs in two processes: ``sha256sum`` of the model files agrees.
    Their checkpoints differ only where they record the wall time."""
    folders = [tmp_path / "first", tmp_path / "second"]
    runs = []
    for folder in folders:
        folder.mkdir()
        runs.append(start_cli("train", "--no-plots", "--epochs", "2", "--seed", "3", "--out", "A", cwd=folder,
                              stderr=subprocess.STDOUT))
    for run in runs:
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, output
    first, second = (folder / "A" for folder in folders)
    assert sha256(first / "model.safetensors") == sha256(second / "model.safetensors")
    checkpoints = [bp.read_checkpoint(run / "checkpoint.safetensors") for run in (first, second)]
    for checkpoint in checkpoints:
        assert checkpoint.state["history"].pop("seconds") > 0
    assert checkpoints[0].state == checkpoints[1].state and checkpoints[0].architecture == checkpoints[1].architecture
    assert checkpoints[0].tensors.keys() == checkpoints[1].tensors.keys()
    for name, array in checkpoints[0].tensors.items():
        assert np.array_equal(array, checkpoints[1].tensors[name]), name
    assert sorted(os.listdir(first)) == sorted(os.listdir(second))
