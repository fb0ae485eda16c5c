"""``backprop.container``: the one safetensors container of model files and checkpoints.

One write (``write_safetensors``, stamped by ``Format.metadata``) and one read (``read``) that
checks the path, the format and its version, parses JSON entries and names the file in every
refusal, each in the words of the kind of file it expected.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest

import backprop as bp
from backprop.container import CHECKPOINT, FORMATS, MODEL, read, write_safetensors
from backprop.files import atomic_write


def write(path, kind=MODEL, tensors=None, entries=None, metadata=None):
    tensors = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)} if tensors is None else tensors
    metadata = kind.metadata(entries or {"thing": json.dumps({"a": [1, 2]})}) if metadata is None else metadata
    with atomic_write(path) as file:
        write_safetensors(file, tensors, metadata)
    return path


def message(path, kind, error=ValueError):
    with pytest.raises(error) as caught, read(path, kind):
        pass
    return str(caught.value)


@pytest.mark.parametrize("kind", [MODEL, CHECKPOINT], ids=["model", "checkpoint"])
def test_what_is_written_reads_back(tmp_path, kind):
    tensors = {"b": np.array([1, 2], dtype=np.int64), "a": np.ones((2, 2), dtype=np.float64)}
    path = write(tmp_path / "f.safetensors", kind, tensors, {"state": json.dumps({"epoch": 3})})
    with read(path, kind) as contents:
        assert contents.path == str(path) and contents.format is kind
        assert contents.metadata == {"format": kind.name, "format_version": kind.version, "state": '{"epoch": 3}'}
        assert contents.entry("state") == {"epoch": 3} and contents.entry("absent", default="[]") == []
        assert contents.names() == {"a", "b"} and contents.shape("a") == (2, 2)
        np.testing.assert_array_equal(contents.tensor("b"), [1, 2])
        got = contents.tensors()
    assert set(got) == {"a", "b"} and got["a"].dtype == np.float64


def test_the_stamp_is_the_formats_and_the_bytes_are_fixed():
    assert MODEL.metadata({"x": "1"}) == {"format": "backprop", "format_version": "1", "x": "1"}
    assert CHECKPOINT.metadata({}) == {"format": "backprop-checkpoint", "format_version": "1"}
    assert FORMATS == {"backprop": MODEL, "backprop-checkpoint": CHECKPOINT}
    tensors = {"z": np.zeros(3, np.float32), "a": np.ones(2, np.int64)}
    one, two = io.BytesIO(), io.BytesIO()
    write_safetensors(one, tensors, MODEL.metadata({"b": "2", "a": "1"}))
    write_safetensors(two, dict(reversed(tensors.items())), MODEL.metadata({"a": "1", "b": "2"}))
    assert one.getvalue() == two.getvalue()


def test_model_files_and_checkpoints_are_the_container(tmp_path):
    model = bp.Sequential(bp.Linear(3, 2, rng=0))
    bp.save(model, tmp_path / "model.safetensors", metadata={"run": 1})
    with read(tmp_path / "model.safetensors", MODEL) as contents:
        assert contents.entry("user") == {"run": 1} and contents.names() == {"0.weight", "0.bias"}
    x, y = np.zeros((4, 3), np.float32), np.array([0, 1, 0, 1])
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, y, epochs=1, progress=False,
           checkpoint=tmp_path / "checkpoint.safetensors")
    with read(tmp_path / "checkpoint.safetensors", CHECKPOINT) as contents:
        assert contents.entry("state")["epoch"] == 1 and "model/0.weight" in contents.names()


def test_nothing_there(tmp_path):
    assert message(tmp_path / "none", MODEL, FileNotFoundError) == f"{tmp_path / 'none'}: no such file"
    assert message(tmp_path / "none", CHECKPOINT, FileNotFoundError) == f"{tmp_path / 'none'}: no such checkpoint"


def test_a_folder_or_a_fifo_is_refused_before_safetensors_opens_it(tmp_path):
    assert message(tmp_path, MODEL) == f"{tmp_path}: is a folder, not a file"
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        assert message(tmp_path / "pipe", CHECKPOINT) == f"{tmp_path / 'pipe'}: is a FIFO (named pipe), not a file"


def test_bytes_that_are_not_safetensors(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(b"\x07" * 100)
    assert message(path, MODEL).startswith(f"{path}: not a readable safetensors file (")
    assert message(path, CHECKPOINT).startswith(f"{path}: not a readable checkpoint (")


def test_another_format_is_named(tmp_path):
    model_file = write(tmp_path / "model.safetensors", MODEL)
    checkpoint = write(tmp_path / "checkpoint.safetensors", CHECKPOINT)
    plain = write(tmp_path / "plain.safetensors", metadata={"other": "tool"})
    assert message(model_file, CHECKPOINT) == (
        f'{model_file}: not a backprop checkpoint (a backprop model file without "format": "backprop-checkpoint")'
    )
    assert message(plain, CHECKPOINT) == (
        f'{plain}: not a backprop checkpoint (a safetensors file without "format": "backprop-checkpoint")'
    )
    for path in (checkpoint, plain):
        assert message(path, MODEL) == (
            f'{path}: not a backprop model file (a safetensors file without "format": "backprop" in its metadata)'
        )


def test_a_version_this_backprop_does_not_read(tmp_path):
    newer = {"format_version": "7"}
    model_file = write(tmp_path / "m.safetensors", metadata={**MODEL.metadata({}), **newer})
    checkpoint = write(tmp_path / "c.safetensors", metadata={**CHECKPOINT.metadata({}), **newer})
    assert message(model_file, MODEL) == (
        f"{model_file}: the file has backprop format version '7', this backprop ({bp.__version__}) reads"
        " version 1; a newer backprop may read it"
    )
    assert message(checkpoint, CHECKPOINT) == f"{checkpoint}: checkpoint format version '7', this backprop reads version 1"


@pytest.mark.parametrize(
    ("kind", "missing", "invalid"),
    [
        (MODEL, 'the metadata has no "state" entry', 'the metadata entry "thing" is not valid JSON'),
        (CHECKPOINT, 'the checkpoint has no "state" entry', 'the checkpoint\'s "thing" entry is not valid JSON'),
    ],
    ids=["model", "checkpoint"],
)
def test_entries_missing_or_not_json(tmp_path, kind, missing, invalid):
    path = write(tmp_path / "f.safetensors", kind, entries={"thing": "{not json"})
    with read(path, kind) as contents:
        with pytest.raises(ValueError) as caught:
            contents.entry("state")
        assert str(caught.value) == f"{path}: {missing}"
        with pytest.raises(ValueError) as caught:
            contents.entry("thing")
        assert str(caught.value).startswith(f"{path}: {invalid} (")


def test_a_read_that_fails_inside_the_block_still_names_the_file(tmp_path):
    path = write(tmp_path / "f.safetensors")
    refused = r"f\.safetensors: not a readable safetensors file \(disk gone\)"
    with pytest.raises(ValueError, match=refused), read(path, MODEL):
        raise OSError("disk gone")
    with pytest.raises(KeyError), read(path, MODEL):
        raise KeyError("a bug of the caller's stays what it is")
