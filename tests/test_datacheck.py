"""Data checked before the first step: each refusal names the count and the first bad place."""


import numpy as np
import pytest
from conftest import cli_user_error

import backprop as bp


def mlp(outputs=3):
    return bp.Sequential(bp.Linear(4, 8, rng=0), bp.ReLU(), bp.Linear(8, outputs, rng=1))


def data(n=20):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def fit(x, y, model=None, loss=None, **options):
    model = model or mlp()
    return bp.fit(model, loss or bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, y, epochs=1,
                  progress=False, **options)


def test_nan_inputs_are_refused_before_any_weight_changes():
    x, y = data()
    x[7, 2] = np.nan
    x[9, 0] = np.nan
    x[12, 1] = np.inf
    model = mlp()
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"^fit: x holds 2 NaN and 1 infinite values; the first at sample 7, feature 2$"):
        fit(x, y, model)
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_images_name_the_position():
    model = bp.Sequential(bp.Conv2d(1, 2, 3, rng=0), bp.Flatten(), bp.Linear(2 * 4 * 4, 3, rng=0))
    x = np.zeros((5, 1, 6, 6), np.float32)
    x[3, 0, 4, 5] = np.inf
    with pytest.raises(ValueError, match=r"x holds 1 infinite values; the first at sample 3, position \(0, 4, 5\)"):
        fit(x, np.zeros(5, int), model)


def test_validation_data_and_evaluate_are_checked_too():
    x, y = data()
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="fit validation_data: x holds 1 NaN values; the first at sample 0, feature 0"):
        fit(x, y, validation_data=(bad, y))
    with pytest.raises(ValueError, match="evaluate: x holds 1 NaN values"):
        bp.evaluate(mlp(), bp.SoftmaxCrossEntropy(), bad, y)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 1, 3, 2, 5] * 4), r"labels must lie in \[0, 3\) for a model with 3 outputs; y holds 8 outside, the first 3 at sample 2"),
        (np.array([0, -1] * 10), r"y holds 10 outside, the first -1 at sample 1"),
        (np.array([0.0, 1.5] * 10), r"class labels must be whole numbers; y holds 10 that are not, the first 1.5 at sample 1"),
        (np.array([0.0, np.nan] * 10), r"fit: y holds 10 NaN values; the first at sample 1"),
    ],
)
def test_bad_labels(labels, message):
    x, _ = data()
    with pytest.raises(ValueError, match=message):
        fit(x, labels)


def test_whole_float_labels_are_accepted():
    x, _ = data()
    fit(x, np.array([0.0, 1.0, 2.0, 1.0] * 5))


def test_regression_targets_must_be_finite_and_fit_the_outputs():
    x, _ = data()
    model = bp.Sequential(bp.Linear(4, 1, rng=0))
    t = np.ones((20, 1), np.float32)
    t[4, 0] = np.inf
    with pytest.raises(ValueError, match=r"fit: y holds 1 infinite values; the first at sample 4"):
        fit(x, t, model, bp.MSELoss())
    with pytest.raises(ValueError, match=r"model outputs \(1,\) per sample, the targets have shape \(\) per sample \(reshape them with y.reshape\(-1, 1\)\)"):
        fit(x, np.ones(20, np.float32), model, bp.MSELoss())


def test_inputs_the_first_layer_cannot_take():
    with pytest.raises(ValueError, match=r"fit: the model does not take samples of shape \(5,\): Linear\(4 -> 8\): expected input of shape \(N, 4\), got \(1, 5\)"):
        fit(np.zeros((20, 5), np.float32), np.zeros(20, int))


def test_empty_data():
    with pytest.raises(ValueError, match="fit: the data set is empty"):
        fit(np.zeros((0, 4), np.float32), np.zeros(0, int))


@pytest.mark.slow
def test_cli_refuses_a_csv_with_an_infinite_cell_in_one_line_not_as_a_divergence(tmp_path):
    rows = ["a,b,label"] + [f"{i},{i % 3},{i % 2}" for i in range(30)]
    rows[5] = "inf,1,0"
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    message = cli_user_error("train", "--dataset", "csv:data.csv", "--epochs", "1", "--out", "run", "--no-plots",
                             cwd=tmp_path, timeout=120)
    assert "data.csv, line 6, column 0 ('a'): expected a finite number, found 'inf'" in message
    assert "lower learning rate" not in message
