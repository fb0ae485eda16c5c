"""Hostile files: random bytes, every truncation, flipped header fields, sizes that claim terabytes.

Each reader (IDX, model files, checkpoints, CSV) must end in a ValueError that names the
file, within a second (hypothesis' deadline), and without allocating much more than the
file's own size (tracemalloc sees NumPy's and Python's allocations).
"""

import json
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backprop as bp

SETTINGS = settings(max_examples=60, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Bytes a reader may allocate beyond the file's size: small fixed overheads, never the claims.
SLACK = 2 << 20


def small_model():
    return bp.Sequential(bp.Linear(3, 4, rng=0), bp.ReLU(), bp.Linear(4, 2, rng=1))


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("valid")
    bp.datasets.save_idx(folder / "images.idx", np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))
    bp.save(small_model(), folder / "model.safetensors")
    model = small_model()
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1, momentum=0.9), x, np.arange(10) % 2, epochs=1,
           batch_size=4, progress=False, checkpoint=folder / "checkpoint.safetensors")
    (folder / "table.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n")
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def read_model(path):
    return bp.load(path)


def read_csv(path):
    return bp.datasets.load_csv(path, "label")


READERS = {
    "images.idx": bp.datasets.load_idx,
    "model.safetensors": read_model,
    "checkpoint.safetensors": bp.read_checkpoint,
    "table.csv": read_csv,
}


def assert_refused(reader, path, data, accept_valid=False):
    path.write_bytes(data)
    tracemalloc.start()
    try:
        reader(path)
    except ValueError as error:
        assert str(path.name) in str(error), f"the message does not name the file: {error}"
    else:
        assert accept_valid, f"{path.name}: {len(data)} hostile bytes were accepted"
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 4 * len(data) + SLACK, f"{path.name}: {peak} bytes allocated for a {len(data)}-byte file"


@pytest.mark.parametrize("name", sorted(READERS))
@SETTINGS
@given(data=st.binary(max_size=2000))
def test_random_bytes(tmp_path, name, data):
    # A random byte string can by chance be a valid CSV of numbers; only then is it accepted.
    assert_refused(READERS[name], tmp_path / name, data, accept_valid=name == "table.csv")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(READERS))
def test_every_truncation(tmp_path, valid_files, name):
    whole = valid_files[name]
    reader = READERS[name]
    for length in range(len(whole)):
        # A CSV cut at a row boundary is a shorter valid table; every other cut must be refused.
        assert_refused(reader, tmp_path / name, whole[:length], accept_valid=name == "table.csv")
    reader_ok = tmp_path / name
    reader_ok.write_bytes(whole)
    reader(reader_ok)


@SETTINGS
@given(position=st.integers(0, 15), value=st.integers(0, 255))
def test_idx_flipped_header_bytes(tmp_path, valid_files, position, value):
    data = bytearray(valid_files["images.idx"])
    data[position] = value
    assert_refused(bp.datasets.load_idx, tmp_path / "images.idx", bytes(data), accept_valid=True)


@pytest.mark.parametrize("dims", [(2**31 - 1, 2**31 - 1), (2**20, 2**20, 2**20), (1 << 31,)])
def test_idx_sizes_that_claim_terabytes(tmp_path, dims):
    header = bytes([0, 0, 0x08, len(dims)]) + b"".join(struct.pack(">I", min(d, 2**32 - 1)) for d in dims)
    assert_refused(bp.datasets.load_idx, tmp_path / "huge.idx", header + b"\0" * 64)


def safetensors_bytes(header, body=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


@pytest.mark.parametrize("name", ["model.safetensors", "checkpoint.safetensors"])
@pytest.mark.parametrize(
    "claim",
    [
        {"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 1 << 42]}},
        {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 40]}},
        {"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 16]}},
    ],
)
def test_safetensors_sizes_that_claim_terabytes(tmp_path, valid_files, name, claim):
    assert_refused(READERS[name], tmp_path / name, safetensors_bytes(claim, b"\0" * 16))
    # A header length that claims far more than the file holds.
    assert_refused(READERS[name], tmp_path / name, struct.pack("<Q", 1 << 40) + b"{}")


@pytest.mark.parametrize("name", ["model.safetensors", "checkpoint.safetensors"])
@SETTINGS
@given(position=st.integers(0, 400), value=st.integers(0, 255))
def test_safetensors_flipped_header_bytes(tmp_path, valid_files, name, position, value):
    data = bytearray(valid_files[name])
    length = struct.unpack("<Q", data[:8])[0]
    position = position % (8 + length)
    data[position] = value
    # A flip inside a number can leave a valid file (a different weight, a different lr).
    assert_refused(READERS[name], tmp_path / name, bytes(data), accept_valid=True)


@pytest.mark.parametrize(
    "edit",
    [
        lambda state: state.update(fit="not a dict"),
        lambda state: state.pop("history"),
        lambda state: state["history"].update(lists=[1, 2]),
        lambda state: state.update(rng={"bit_generator": "MT19937", "state": 5}),
        lambda state: state.update(epoch="many"),
        lambda state: state["optimizer"].update(lr=-1.0),
    ],
)
def test_checkpoint_with_a_tampered_state_cannot_be_resumed(tmp_path, valid_files, edit):
    """Parsed but nonsensical: resuming from it is a ValueError naming the file, and nothing changes."""
    from safetensors.numpy import load_file, save_file

    source = tmp_path / "source.safetensors"
    source.write_bytes(valid_files["checkpoint.safetensors"])
    from safetensors import safe_open

    with safe_open(str(source), framework="np") as file:
        header = dict(file.metadata())
    state = json.loads(header["state"])
    edit(state)
    header["state"] = json.dumps(state)
    path = tmp_path / "tampered.safetensors"
    save_file(load_file(source), str(path), metadata=header)
    model = small_model()
    before = model.state_dict()
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"tampered\.safetensors"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1, momentum=0.9), x, np.arange(10) % 2,
               epochs=1, batch_size=4, progress=False, resume=path)
    for key, value in before.items():
        np.testing.assert_array_equal(model.params[key], value)


def test_csv_with_invalid_utf8_names_the_file(tmp_path):
    path = Path(tmp_path) / "bad.csv"
    assert_refused(read_csv, path, b"a,b,label\n\xff\xfe,1,0\n")
