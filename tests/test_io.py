"""save/load: bit-identical round trips, atomic writes, and clear errors for every bad file."""

import json
import os
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from safetensors import safe_open

import backprop as bp
import backprop.io
from backprop.io import load, load_metadata, save
from backprop.layers.conv import Conv2d
from backprop.layers.pooling import MaxPool2d
from backprop.layers.shape import Flatten


def mlp(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return bp.Sequential(
        bp.Linear(5, 8, dtype=dtype, rng=rng),
        bp.ReLU(),
        bp.Linear(8, 8, bias=False, dtype=dtype, rng=rng),
        bp.Tanh(),
        bp.Linear(8, 4, dtype=dtype, rng=rng),
        bp.Sigmoid(),
        bp.Linear(4, 3, dtype=dtype, rng=rng),
        bp.Softmax(),
    )


def saved_mlp(tmp_path, name="model.safetensors"):
    path = tmp_path / name
    save(mlp(), path)
    return path


def read_raw(path):
    with safe_open(str(path), framework="np") as file:
        names = file.keys()
        return {name: file.get_tensor(name) for name in names}, file.metadata()


def rewrite(path, tensors=None, **metadata):
    """Write ``path`` again with some tensors or metadata entries replaced (None deletes)."""
    old_tensors, header = read_raw(path)
    header.update(metadata)
    header = {key: value for key, value in header.items() if value is not None}
    safetensors.numpy.save_file(old_tensors if tensors is None else tensors, str(path), metadata=header)


def load_error(path, kind=ValueError):
    """The exception ``load`` raises for ``path``, checked to start with the path."""
    with pytest.raises(kind) as info:
        load(path)
    assert str(info.value).startswith(str(path)), str(info.value)
    return str(info.value)


def assert_same_model(model, loaded, x):
    assert type(loaded) is type(model)
    assert loaded.config() == model.config()
    assert loaded.params.keys() == model.params.keys()
    for name, value in model.params.items():
        assert loaded.params[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded.params[name], value)
    model.eval()
    loaded.eval()
    y, y_loaded = model(x), loaded(x)
    assert y_loaded.dtype == y.dtype
    assert np.array_equal(y_loaded, y)  # bit-identical, not merely close


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_round_trip_is_bit_identical(tmp_path, dtype):
    model = mlp(dtype)
    path = tmp_path / "mlp.safetensors"
    save(model, path)
    loaded = load(path)
    x = np.random.default_rng(1).standard_normal((6, 5)).astype(dtype)
    assert_same_model(model, loaded, x)


def test_file_holds_named_tensors_and_the_architecture_as_json(tmp_path):
    model = mlp(np.float64)
    path = tmp_path / "model.safetensors"
    save(model, path)
    tensors, header = read_raw(path)
    assert tensors.keys() == model.params.keys() == {
        "0.weight",
        "0.bias",
        "2.weight",
        "4.weight",
        "4.bias",
        "6.weight",
        "6.bias",
    }
    assert all(array.dtype == np.float64 for array in tensors.values())
    assert header["format"] == "backprop" and header["format_version"] == "1"
    assert header["backprop_version"] == bp.__version__
    assert json.loads(header["architecture"]) == {"type": "Sequential", "config": model.config()}


def test_round_trip_keeps_dropout_p_and_nested_sequentials(tmp_path):
    rng = np.random.default_rng(2)
    inner = bp.Sequential(bp.Linear(6, 6, rng=rng), bp.Dropout(0.25), bp.Sequential(bp.Tanh()))
    model = bp.Sequential(bp.Linear(4, 6, rng=rng), inner, bp.Dropout(0.6), bp.Linear(6, 2, rng=rng))
    path = tmp_path / "nested.safetensors"
    save(model, path)
    loaded = load(path)
    assert loaded[1][1].p == 0.25 and loaded[2].p == 0.6
    assert isinstance(loaded[1][2], bp.Sequential) and isinstance(loaded[1][2][0], bp.Tanh)
    assert "1.0.weight" in loaded.params
    assert loaded.training  # a fresh model, as if just constructed
    assert_same_model(model, loaded, rng.standard_normal((3, 4)).astype(np.float32))


def test_a_single_layer_round_trips_without_a_sequential(tmp_path):
    layer = bp.Linear(3, 2, bias=False, dtype=np.float64, rng=0)
    save(layer, tmp_path / "linear.safetensors")
    loaded = load(tmp_path / "linear.safetensors")
    assert isinstance(loaded, bp.Linear) and loaded.bias is None
    assert_same_model(layer, loaded, np.ones((2, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_round_trip_is_bit_identical(tmp_path, dtype):
    rng = np.random.default_rng(3)
    model = bp.Sequential(
        Conv2d(2, 4, 3, padding=1, dtype=dtype, rng=rng),
        bp.ReLU(),
        MaxPool2d(2),
        Conv2d(4, 3, (2, 3), stride=(1, 2), bias=False, dtype=dtype, rng=rng),
        Flatten(),
        bp.Linear(3 * 3 * 1, 5, dtype=dtype, rng=rng),
    )
    path = tmp_path / "cnn.safetensors"
    save(model, path)
    loaded = load(path)
    assert loaded[3].kernel_size == (2, 3) and loaded[3].stride == (1, 2) and loaded[2].kernel_size == (2, 2)
    assert_same_model(model, loaded, rng.standard_normal((2, 2, 8, 8)).astype(dtype))


def test_user_metadata_round_trips_without_building_the_model(tmp_path):
    model = mlp()
    user = {"epochs": 12, "accuracy": 0.975, "classes": ["a", "b", "c"], "notes": {"lr": 0.1, "ok": True}}
    path = tmp_path / "model.safetensors"
    save(model, path, metadata=user)
    info = load_metadata(path)
    assert info["user"] == user
    assert info["architecture"] == {"type": "Sequential", "config": model.config()}
    assert info["format_version"] == "1" and info["backprop_version"] == bp.__version__
    save(model, path)
    assert load_metadata(path)["user"] == {}


def test_saving_again_replaces_the_file_and_leaves_nothing_else(tmp_path):
    path = saved_mlp(tmp_path)
    save(mlp(seed=5), path)
    assert [entry.name for entry in tmp_path.iterdir()] == ["model.safetensors"]
    np.testing.assert_array_equal(load(path).params["0.weight"], mlp(seed=5).params["0.weight"])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_saved_file_gets_the_usual_permissions_not_the_temporary_files(tmp_path):
    umask = os.umask(0o022)
    try:
        path = saved_mlp(tmp_path)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


# --- what save refuses --------------------------------------------------------------------


def test_save_refuses_a_layer_load_could_not_rebuild(tmp_path):
    class Scale(bp.Layer):
        pass

    class MyLinear(bp.Linear):  # same name as an allowed type is not enough
        pass

    for layer in (Scale(), MyLinear(2, 2)):
        with pytest.raises(TypeError, match=r"save: model\[1\] is a (Scale|MyLinear), which load cannot rebuild"):
            save(bp.Sequential(bp.ReLU(), layer), tmp_path / "custom.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({1: "x"}, r"save: metadata keys must be strings, got 1"),
        ({"array": np.zeros(2)}, r"save: metadata must be JSON-serialisable"),
        (["not", "a", "dict"], r"save: metadata must be a dict, got list"),
    ],
)
def test_save_refuses_metadata_that_would_not_come_back(tmp_path, metadata, message):
    with pytest.raises(TypeError, match=message):
        save(mlp(), tmp_path / "model.safetensors", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_missing_directory_names_it(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=re.escape(f"directory {missing} does not exist")):
        save(mlp(), missing / "model.safetensors")
    assert not (tmp_path / "no").exists()


# --- atomic write -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "name"),
    [(backprop.io, "write_safetensors"), (os, "fsync"), (os, "replace")],
    ids=["serialise", "fsync", "rename"],
)
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_save_leaves_the_old_file_intact_and_no_temporary_file(tmp_path, monkeypatch, module, name, error):
    path = saved_mlp(tmp_path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(module, name, fail)
    with pytest.raises(type(error)):
        save(mlp(seed=9), path, metadata={"run": 2})
    monkeypatch.undo()
    assert [entry.name for entry in tmp_path.iterdir()] == ["model.safetensors"]
    assert path.read_bytes() == before


# --- bad files ----------------------------------------------------------------------------


def test_missing_file_is_file_not_found(tmp_path):
    path = tmp_path / "absent.safetensors"
    assert load_error(path, FileNotFoundError) == f"{path}: no such file"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        load_metadata(path)


@pytest.mark.parametrize("keep", [0, 5, 8, 40, -1], ids=["empty", "5-bytes", "length-only", "half-header", "-1-byte"])
def test_truncated_file(tmp_path, keep):
    path = saved_mlp(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    assert "not a readable safetensors file" in load_error(path)


def test_random_bytes_and_a_directory(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    assert "not a readable safetensors file" in load_error(path)
    directory = tmp_path / "folder.safetensors"
    directory.mkdir()
    load_error(directory)


class _Touch:
    """Unpickling this creates a file: the proof that a loader ran code from the file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_a_pickle_is_never_unpickled(tmp_path):
    sentinel = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"0.weight": _Touch(sentinel)}))
    assert "not a readable safetensors file" in load_error(path)
    with pytest.raises(ValueError):
        load_metadata(path)
    assert not sentinel.exists()


def test_safetensors_file_not_written_by_backprop(tmp_path):
    path = tmp_path / "other.safetensors"
    safetensors.numpy.save_file({"weight": np.zeros((2, 2), np.float32)}, str(path), metadata={"a": "b"})
    assert "not a backprop model file" in load_error(path)
    safetensors.numpy.save_file({"weight": np.zeros((2, 2), np.float32)}, str(path))
    assert "not a backprop model file" in load_error(path)


@pytest.mark.parametrize("version", ["2", "1.1", "banana", None])
def test_newer_or_unknown_format_version_says_which(tmp_path, version):
    path = saved_mlp(tmp_path)
    rewrite(path, format_version=version)
    message = load_error(path)
    assert f"the file has backprop format version {version!r}" in message
    assert "reads version 1" in message
    with pytest.raises(ValueError, match=re.escape(f"version {version!r}")):
        load_metadata(path)


LINEAR = {"in_features": 5, "out_features": 8, "bias": True, "dtype": "float32"}


def architecture_with_first(spec):
    config = mlp().config()
    config["layers"][0] = spec
    return json.dumps({"type": "Sequential", "config": config})


@pytest.mark.parametrize(
    ("architecture", "message"),
    [
        ("{not json", r'metadata entry "architecture" is not valid JSON'),
        ("[1, 2]", r"the architecture must be a JSON object, got \[1, 2\]"),
        (
            architecture_with_first({"type": "os.system", "config": {"command": "touch pwned"}}),
            r"architecture.layers\[0\]: unknown layer type 'os.system'; this backprop builds AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout",
        ),
        (
            architecture_with_first({"type": "__import__", "config": {"name": "os"}}),
            r"unknown layer type '__import__'",
        ),
        (architecture_with_first({"type": ["Linear"], "config": LINEAR}), r"unknown layer type \['Linear'\]"),
        (architecture_with_first({"type": "Linear"}), r'architecture.layers\[0\] must be \{"type": ..., "config"'),
        (
            architecture_with_first({"type": "Linear", "config": {**LINEAR, "in_feature": 5}}),
            r"architecture.layers\[0\]: cannot build Linear from config .*unexpected keyword argument 'in_feature'",
        ),
        (
            architecture_with_first({"type": "Linear", "config": {**LINEAR, "in_features": "5"}}),
            r"cannot build Linear .*in_features must be a positive integer, got '5'",
        ),
        (
            architecture_with_first({"type": "Linear", "config": {**LINEAR, "dtype": "object"}}),
            r"cannot build Linear .*dtype must be float32 or float64",
        ),
        (
            architecture_with_first({"type": "Dropout", "config": {"p": 1.5}}),
            r"cannot build Dropout .*p must be a probability",
        ),
        (
            architecture_with_first({"type": "Linear", "config": [5, 8]}),
            r"the config of Linear must be a JSON object, got \[5, 8\]",
        ),
        (
            json.dumps({"type": "Sequential", "config": {"layers": "ReLU"}}),
            r'the config of Sequential must be \{"layers": \[...\]\}',
        ),
        (
            json.dumps({"type": "Sequential", "config": {"layers": [], "extra": 1}}),
            r'the config of Sequential must be \{"layers": \[...\]\}',
        ),
    ],
    ids=[
        "bad-json",
        "not-object",
        "os.system",
        "__import__",
        "type-not-str",
        "no-config",
        "wrong-kwarg",
        "wrong-type",
        "object-dtype",
        "bad-p",
        "config-not-object",
        "layers-not-list",
        "sequential-extra-key",
    ],
)
def test_tampered_architecture(tmp_path, monkeypatch, architecture, message):
    monkeypatch.chdir(tmp_path)
    path = saved_mlp(tmp_path)
    rewrite(path, architecture=architecture)
    assert re.search(message, load_error(path)), load_error(path)
    assert not (tmp_path / "pwned").exists()


def test_deeply_nested_architecture_is_refused_not_a_crash(tmp_path):
    path = saved_mlp(tmp_path)
    spec = {"type": "ReLU", "config": {}}
    for _ in range(200):
        spec = {"type": "Sequential", "config": {"layers": [spec]}}
    rewrite(path, architecture=json.dumps(spec), tensors={})
    assert "nested more than 64 deep" in load_error(path)
    rewrite(path, architecture="[" * 100_000 + "]" * 100_000)
    assert "not valid JSON" in load_error(path)


def test_user_metadata_must_be_a_json_object(tmp_path):
    path = saved_mlp(tmp_path)
    rewrite(path, user="[1, 2]")
    with pytest.raises(ValueError, match=r'^.*model\.safetensors: the metadata entry "user" must be a JSON object'):
        load_metadata(path)


def tensors_of(path):
    return read_raw(path)[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.pop("4.bias"), r"tensor '4\.bias' is missing \(expected float32 of shape \(4,\)\)"),
        (
            lambda t: t.update({"9.weight": np.zeros((2, 2), np.float32)}),
            r"unexpected tensor '9\.weight' of shape \(2, 2\): the architecture has no such parameter or buffer",
        ),
        (
            lambda t: t.update({"0.weight": np.zeros((5, 8), np.float32)}),
            r"tensor '0\.weight': expected float32 of shape \(8, 5\), found float32 of shape \(5, 8\)",
        ),
        (
            lambda t: t.update({"0.bias": np.zeros(8, np.float64)}),
            r"tensor '0\.bias': expected float32 of shape \(8,\), found float64 of shape \(8,\)",
        ),
        (
            lambda t: t.update({"0.bias": np.zeros(8, np.int32)}),
            r"tensor '0\.bias': expected float32 of shape \(8,\), found int32 of shape \(8,\)",
        ),
    ],
    ids=["missing", "extra", "misshaped", "wrong-float-dtype", "integer-dtype"],
)
def test_tensors_must_match_the_architecture(tmp_path, change, message):
    path = saved_mlp(tmp_path)
    tensors = tensors_of(path)
    change(tensors)
    rewrite(path, tensors=tensors)
    error = load_error(path)
    assert re.fullmatch(re.escape(str(path)) + ": " + message, error), error


def test_output_transform_survives_save_and_load(tmp_path):
    import backprop as bp

    model = bp.Sequential(bp.Linear(3, 2, rng=0))
    model.output_transform = "softmax"
    bp.save(model, tmp_path / "m.safetensors")
    loaded = bp.load(tmp_path / "m.safetensors")
    assert loaded.output_transform == "softmax"
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(bp.predict(loaded, x).sum(axis=1), 1, rtol=1e-6)
    plain = bp.Sequential(bp.Linear(3, 2, rng=0))
    bp.save(plain, tmp_path / "p.safetensors")
    assert bp.load(tmp_path / "p.safetensors").output_transform is None
