"""``backprop.runs.Preprocessing``: fitted once, applied and inverted, recorded as the very dict
model files and checkpoints have always held (so old files read back and are written again byte
for byte)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import backprop as bp
from backprop.runs import Preprocessing, load_run, preprocess
from backprop.runs.data import load


def old_fit(features, targets=None, classes=None):
    """The dict ``cli/data.py`` built before ``Preprocessing`` (classes first, then mean and std)."""
    record = {} if classes is None else {"classes": classes}
    std = features.std(axis=0)
    record |= {"mean": features.mean(axis=0).tolist(), "std": np.where(std > 0, std, 1.0).tolist()}
    if targets is not None:
        std = targets.std(axis=0)
        record |= {"target_mean": targets.mean(axis=0).tolist(), "target_std": np.where(std > 0, std, 1.0).tolist()}
    return record


def test_fit_standardises_the_features_and_apply_does_it_in_float64_then_casts():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(50, 4))
    x[:, 2] = 7.0  # a constant column: its deviation is 1, not 0
    fitted = Preprocessing().fit(x)
    out = fitted.apply(x, np.float32)
    assert out.dtype == np.float32 and fitted.standardises_features and not fitted.standardises_targets
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(out[:, [0, 1, 3]].std(axis=0), 1, atol=1e-6)
    assert fitted.std[2] == 1.0 and np.all(out[:, 2] == 0)
    huge = Preprocessing(mean=[1e300], std=[1e299])  # infinite in float32 before, 0 and 10 after
    np.testing.assert_array_equal(huge.apply(np.array([[1e300], [2e300]]), np.float32), [[0.0], [10.0]])


def test_columns_near_1e300_are_fitted_without_overflow():
    x = np.array([[1e300, 1.0], [-1e300, 3.0], [1e300, 5.0]])
    with np.errstate(over="ignore"):  # the plain formula overflows first, as the command line allows
        fitted = Preprocessing().fit(x)
    assert np.all(np.isfinite(fitted.mean)) and np.all(np.isfinite(fitted.std))
    assert np.all(np.isfinite(fitted.apply(x, np.float32)))


def test_an_empty_preprocessing_only_casts_and_leaves_targets_alone():
    empty = Preprocessing()
    x = np.array([[0, 255]], dtype=np.uint8)
    assert empty.apply(x, np.float64).dtype == np.float64 and empty.apply(x, "float32").tolist() == [[0, 255]]
    y = np.array([[1.0], [2.0]])
    assert empty.apply_targets(y) is y and empty.inverse_targets(y) is y
    assert empty.to_json() == {} and empty.label(3) == 3


def test_targets_are_standardised_and_turned_back():
    x = np.arange(20.0).reshape(10, 2)
    y = np.linspace(25, 346, 10).reshape(-1, 1)
    fitted = Preprocessing().fit(x, y)
    z = fitted.apply_targets(y)
    assert fitted.standardises_targets
    np.testing.assert_allclose([z.mean(), z.std()], [0, 1], atol=1e-12)
    np.testing.assert_allclose(fitted.inverse_targets(z), y)


def test_fit_is_what_the_command_line_fitted_before():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 3)) * 100, rng.normal(size=(30, 1)) * 50
    assert Preprocessing().fit(x).to_json() == old_fit(x)
    assert Preprocessing().fit(x, y).to_json() == old_fit(x, y)
    classes = Preprocessing.fit_classes(np.array(["dog", "cat", "bird", "cat"]))
    assert json.dumps(classes.fit(x).to_json()) == json.dumps(old_fit(x, classes=["bird", "cat", "dog"]))


def test_classes_are_fitted_encoded_and_named():
    labels = np.array(["dog", "cat", "dog", "bird"])
    fitted = Preprocessing.fit_classes(labels)
    assert fitted.classes == ["bird", "cat", "dog"]
    assert fitted.encode(labels).tolist() == [2, 1, 2, 0] and fitted.label(1) == "cat"
    assert Preprocessing.fit_classes(np.array([3, 7, 7])).classes == [3, 7]
    # Labels that are the positions already are recorded for CSV data, left out for images.
    assert Preprocessing.fit_classes(np.array([0, 1, 2])).classes == [0, 1, 2]
    assert Preprocessing.fit_classes(np.array([0, 1, 2]), omit_positions=True) == Preprocessing()
    with pytest.raises(ValueError, match="labels \\['fish'\\] are not among the model's classes"):
        fitted.encode(np.array(["fish"]))
    with pytest.raises(ValueError, match="a classifier needs two classes or more"):
        Preprocessing.fit_classes(np.array([4, 4]))


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"mean": [5.843333333333335, 3.0573333333333337], "std": [0.8253012917851409, 0.4344109677354946]},
        {"mean": [48.5, 1.0], "std": [13.1, 1.0], "target_mean": [152.13348416289594], "target_std": [77.0]},
        {"classes": ["setosa", "versicolor", "virginica"], "mean": [5.8], "std": [0.8]},
        {"classes": [3, 7]},
        {"classes": [0.5, 1, 2.25]},
    ],
    ids=["pixels", "csv-features", "csv-regression", "csv-classes", "image-classes", "number-classes"],
)
def test_the_records_of_every_kind_of_run_read_back_and_write_again_byte_for_byte(record):
    again = Preprocessing.from_json(json.loads(json.dumps(record)))
    assert json.dumps(again.to_json()) == json.dumps(record)
    assert Preprocessing.from_json(again.to_json()) == again


def test_from_json_ignores_unknown_keys_and_refuses_what_is_not_a_preprocessing():
    assert Preprocessing.from_json({"classes": [1, 2], "note": "hand-added"}).to_json() == {"classes": [1, 2]}
    with pytest.raises(ValueError, match="must be a JSON object, got \\[1, 2\\]"):
        Preprocessing.from_json([1, 2])
    with pytest.raises(ValueError, match='"mean" must be a list, got \'0\''):
        Preprocessing.from_json({"mean": "0", "std": [1.0]})


def test_to_json_gives_new_lists():
    fitted = Preprocessing(classes=["a", "b"])
    fitted.to_json()["classes"].append("c")
    assert fitted.classes == ["a", "b"]


def test_the_dict_function_is_the_object():
    x = np.array([[2.0, 4.0]])
    record = {"mean": [1.0, 2.0], "std": [1.0, 2.0]}
    np.testing.assert_array_equal(preprocess(x, record, np.float32), Preprocessing.from_json(record).apply(x, np.float32))


def test_a_run_reads_its_preprocessing_from_its_record(tmp_path):
    model = bp.Sequential(bp.Linear(64, 10, rng=0))
    model.output_transform = "softmax"
    bp.save(model, tmp_path / "model.safetensors", metadata={"preprocessing": {"classes": list("abcdefghij")}})
    run = load_run(tmp_path)
    assert run.preprocessing == Preprocessing(classes=list("abcdefghij")) and run.label(2) == "c"
    run.record["preprocessing"] = {"mean": [1.0] * 64, "std": [2.0] * 64}
    assert run.preprocessing.standardises_features and not run.takes_pixels
    np.testing.assert_array_equal(run.prepare(np.full((1, 64), 3.0)), np.ones((1, 64), np.float32))


def test_a_model_file_with_a_malformed_preprocessing_is_refused_in_one_line(tmp_path):
    bp.save(bp.Sequential(bp.Linear(4, 2)), tmp_path / "model.safetensors", metadata={"preprocessing": [1]})
    with pytest.raises(ValueError, match=r"model\.safetensors: the preprocessing must be a JSON object"):
        load_run(tmp_path / "model.safetensors")


def test_a_data_set_split_carries_its_preprocessing(tmp_path):
    """``backprop.runs.data.load`` fits a new run's preprocessing and applies a recorded one unchanged."""
    csv = tmp_path / "data.csv"
    rows = [f"{i},{i % 3 * 10},{'abc'[i % 3]}" for i in range(30)]
    csv.write_text("x,z,label\n" + "\n".join(rows) + "\n")
    new = load(f"csv:{csv}", data_dir=None, seed=0, test_fraction=0.2, val_fraction=0.1, dtype=np.float32)
    assert new.classes == ["a", "b", "c"] and new.preprocessing.standardises_features
    again = load(
        f"csv:{csv}", data_dir=None, seed=1, test_fraction=0.5, val_fraction=0.0, dtype=np.float32,
        preprocessing=new.preprocessing,
    )
    assert again.preprocessing == new.preprocessing
    digits = load("digits", data_dir=None, seed=0, test_fraction=0.2, val_fraction=0.1, dtype=np.float32)
    assert digits.preprocessing == Preprocessing() and digits.classes is None
