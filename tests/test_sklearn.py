"""The scikit-learn estimators: scikit-learn's own conformance suite first, then our promises."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    parametrize_with_checks,
)
from threadpoolctl import threadpool_limits

import backprop as bp
from backprop.sklearn import NeuralNetClassifier, NeuralNetRegressor

ROOT = Path(__file__).resolve().parents[1]


# --- scikit-learn's checks, every one its own test, none declared as an expected failure ----


@parametrize_with_checks(
    [NeuralNetClassifier(), NeuralNetRegressor(), NeuralNetClassifier(max_iter=20), NeuralNetRegressor(max_iter=20)]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [NeuralNetClassifier(), NeuralNetRegressor()], ids=repr)
def test_scikit_learn_dataframe_column_names_check(estimator):
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)


@pytest.mark.slow
def test_scikit_learn_array_api_checks_with_scipy_array_api_set():
    """The array-API checks skip unless SCIPY_ARRAY_API=1 is set before SciPy is imported: run them so."""
    script = (
        "from functools import partial\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from backprop.sklearn import NeuralNetClassifier, NeuralNetRegressor\n"
        "for estimator in (NeuralNetClassifier(), NeuralNetRegressor()):\n"
        "    check_array_api_input(type(estimator).__name__, estimator, array_namespace='numpy',\n"
        "                          expect_only_array_outputs=False)\n"
        "print('array api checks passed')\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "array api checks passed" in result.stdout


# --- targets: binary, multi-class, string and integer labels, multi-output regression -------


def blobs(n_classes: int, n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x, y = make_classification(
        n_samples=n, n_features=6, n_informative=4, n_redundant=0, n_classes=n_classes,
        n_clusters_per_class=1, class_sep=2.0, random_state=seed,
    )
    return x, y


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("labels", ["int", "str"])
def test_classifier_learns_binary_and_multiclass_with_int_and_string_labels(n_classes, labels):
    x, y = blobs(n_classes)
    names = np.array(["cat", "dog", "emu", "yak"])[:n_classes] if labels == "str" else np.array([3, 7, 9, 11])
    y = names[y]
    clf = NeuralNetClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100, tol=0, random_state=0).fit(x, y)
    np.testing.assert_array_equal(clf.classes_, np.sort(names[:n_classes]))
    probabilities = clf.predict_proba(x)
    assert probabilities.shape == (len(x), n_classes)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    predicted = clf.predict(x)
    assert predicted.dtype == y.dtype and set(predicted) <= set(names)
    np.testing.assert_array_equal(predicted, clf.classes_[probabilities.argmax(axis=1)])
    assert clf.score(x, y) > 0.9
    assert clf.n_features_in_ == 6 and clf.n_iter_ == 100 and len(clf.loss_curve_) == 100
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    # two classes: one logistic output, as scikit-learn's; more: one softmax logit per class
    assert clf.model_[-1].out_features == (1 if n_classes == 2 else n_classes)
    assert clf.out_activation_ == ("logistic" if n_classes == 2 else "softmax")
    assert clf.model_.output_transform == ("sigmoid" if n_classes == 2 else "softmax")


def test_regressor_fits_one_and_several_targets():
    x, y = make_regression(n_samples=200, n_features=5, n_targets=3, noise=1.0, random_state=0)
    y = y / y.std(axis=0)
    several = NeuralNetRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=200, random_state=0)
    several.fit(x, y)
    assert several.n_outputs_ == 3 and several.predict(x).shape == (200, 3)
    assert several.score(x, y) > 0.95
    one = NeuralNetRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=200, random_state=0)
    one.fit(x, y[:, 0])
    assert one.n_outputs_ == 1 and one.predict(x).shape == (200,)
    assert one.score(x, y[:, 0]) > 0.95


def test_hidden_layer_sizes_may_be_an_int_or_empty_and_verbose_prints_each_epoch(capsys):
    x, y = blobs(3)
    assert str(NeuralNetClassifier(hidden_layer_sizes=5, max_iter=1).fit(x, y).model_) == (
        "Sequential(Linear(6 -> 5), ReLU(), Linear(5 -> 3))"
    )
    capsys.readouterr()
    softmax_regression = NeuralNetClassifier(hidden_layer_sizes=(), max_iter=2, tol=0, verbose=True).fit(x, y)
    assert str(softmax_regression.model_) == "Sequential(Linear(6 -> 3))"
    printed = capsys.readouterr().out.splitlines()
    curve = softmax_regression.loss_curve_
    assert printed == [f"Iteration 1, loss = {curve[0]:.8f}", f"Iteration 2, loss = {curve[1]:.8f}"]
    identity = NeuralNetRegressor(hidden_layer_sizes=(4, 3), activation="identity", max_iter=1).fit(x, y)
    assert str(identity.model_) == "Sequential(Linear(6 -> 4), Linear(4 -> 3), Linear(3 -> 1))"


# --- dtypes ---------------------------------------------------------------------------------


def test_float32_input_trains_a_float32_network_and_float64_a_float64_one():
    x, y = blobs(3)
    small = NeuralNetClassifier(max_iter=2, random_state=0).fit(x.astype(np.float32), y)
    assert all(p.dtype == np.float32 for p in small.model_.params.values())
    assert small.predict_proba(x).dtype == np.float32  # later input follows the network
    wide = NeuralNetClassifier(max_iter=2, random_state=0).fit(x, y)
    assert all(p.dtype == np.float64 for p in wide.model_.params.values())
    integers = NeuralNetRegressor(max_iter=2, random_state=0).fit(np.rint(x * 10).astype(np.int32), y)
    assert integers.predict(x).dtype == np.float64  # anything else becomes float64, as in scikit-learn


def test_dtype_parameter_overrides_the_input():
    x, y = blobs(3)
    clf = NeuralNetClassifier(max_iter=2, dtype="float64", random_state=0).fit(x.astype(np.float32), y)
    assert clf.predict_proba(x).dtype == np.float64
    reg = NeuralNetRegressor(max_iter=2, dtype=np.float32, random_state=0).fit(x, y.astype(float))
    assert reg.predict(x).dtype == np.float32
    with pytest.raises(TypeError, match=r"^NeuralNetClassifier: dtype must be float32 or float64, got float16$"):
        NeuralNetClassifier(dtype="float16").fit(x, y)


# --- optimiser state across calls: warm_start and partial_fit --------------------------------


def weights(estimator) -> list[np.ndarray]:
    return [p.copy() for p in estimator.model_.params.values()]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_continues_the_weights_with_a_new_optimiser_as_scikit_learn(solver):
    """A warm ``fit`` starts from the fitted weights with a fresh optimiser (scikit-learn's rule):
    two warm fits of 2 epochs are not 4 epochs, whose second half keeps the Adam moments or
    the momentum; ``n_iter_`` counts each call's epochs and ``t_`` every sample seen."""
    x, y = blobs(3, n=60)
    settings = dict(hidden_layer_sizes=(8,), solver=solver, learning_rate_init=0.05, random_state=0, dtype="float64", tol=0)
    straight = NeuralNetClassifier(max_iter=4, **settings).fit(x, y)
    warm = NeuralNetClassifier(max_iter=2, warm_start=True, **settings).fit(x, y)
    first, optimizer = weights(warm), warm.optimizer_
    warm.fit(x, y)
    assert warm.optimizer_ is not optimizer and warm.optimizer_.t == 2  # one full batch per epoch, counted from this call's start
    assert warm.n_iter_ == 2 and warm.t_ == 4 * 60 and len(warm.loss_curve_) == 4
    assert any(not np.array_equal(a, b) for a, b in zip(first, weights(warm)))
    assert any(not np.array_equal(a, b) for a, b in zip(weights(straight), weights(warm)))
    np.testing.assert_array_equal(warm.loss_curve_[:2], straight.loss_curve_[:2])


def test_warm_start_refuses_a_network_the_parameters_no_longer_describe():
    x, y = blobs(3)
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), max_iter=1, warm_start=True).fit(x, y)
    clf.set_params(hidden_layer_sizes=(16,))
    with pytest.raises(ValueError, match=r"warm_start=True continues the fitted network, hidden sizes \(8,\), but hidden_layer_sizes=\(16,\)"):
        clf.fit(x, y)
    clf.set_params(hidden_layer_sizes=(8,), activation="tanh")
    with pytest.raises(ValueError, match=r"activation='tanh' now describe another; fit with warm_start=False"):
        clf.fit(x, y)
    clf.set_params(warm_start=False).fit(x, y)
    assert str(clf.model_) == "Sequential(Linear(6 -> 8), Tanh(), Linear(8 -> 3))"


def test_partial_fit_is_one_epoch_and_keeps_adam_state():
    x, y = blobs(3, n=60)
    settings = dict(hidden_layer_sizes=(8,), learning_rate_init=0.05, random_state=0, dtype="float64", tol=0)
    straight = NeuralNetClassifier(max_iter=3, **settings).fit(x, y)
    stepwise = NeuralNetClassifier(**settings)
    for _ in range(3):
        stepwise.partial_fit(x, y, classes=[0, 1, 2])
    assert stepwise.n_iter_ == 1 and stepwise.t_ == 180 and stepwise.optimizer_.t == 3
    state = stepwise.optimizer_.state_dict()
    assert state["step"] == 3 and np.abs(state["exp_avg.0.weight"]).max() > 0
    for a, b in zip(weights(straight), weights(stepwise)):  # full batches: shuffling changes no sum
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_partial_fit_shuffles_are_drawn_from_random_state():
    x, y = blobs(3, n=100)
    runs = []
    for _ in range(2):
        clf = NeuralNetClassifier(hidden_layer_sizes=(8,), batch_size=10, random_state=3)
        for chunk in np.array_split(np.arange(100), 4):
            clf.partial_fit(x[chunk], y[chunk], classes=[0, 1, 2])
        runs.append(weights(clf))
        assert clf.optimizer_.t == 4 * 3  # 25 samples a chunk: batches of 10, 10, 5
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    other = NeuralNetClassifier(hidden_layer_sizes=(8,), batch_size=10, random_state=4).partial_fit(x, y, classes=[0, 1, 2])
    assert not np.array_equal(weights(other)[0], runs[0][0])


def test_partial_fit_errors_name_what_is_wrong():
    x, y = blobs(3)
    with pytest.raises(ValueError, match=r"NeuralNetClassifier.partial_fit: the first call must pass classes="):
        NeuralNetClassifier().partial_fit(x, y)
    clf = NeuralNetClassifier(max_iter=1).partial_fit(x, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[5\] are not among the classes it was first fitted on, \[0, 1, 2\]"):
        clf.partial_fit(x, np.where(y == 2, 5, y))
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] differ from those of the first call, \[0, 1, 2\]"):
        clf.partial_fit(x, y, classes=[0, 1])
    reg = NeuralNetRegressor().partial_fit(x, np.c_[y, y].astype(float))
    with pytest.raises(ValueError, match=r"y has 1 targets per sample, but the network was fitted with 2"):
        reg.partial_fit(x, y.astype(float))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("hidden_layer_sizes", (10, 0), r"hidden_layer_sizes must be a positive integer or a sequence of them, got \(10, 0\)"),
        ("activation", "swish", r"activation must be one of \['identity', 'logistic', 'relu', 'sigmoid', 'tanh'\], got 'swish'"),
        ("solver", "newton", r"solver must be one of \['adam', 'lbfgs', 'sgd'\], got 'newton'"),
        ("learning_rate", "cyclic", r"learning_rate must be one of \['constant', 'invscaling', 'adaptive'\], got 'cyclic'"),
        ("learning_rate", 0, r"learning_rate must be a positive number \(the deprecated step size\), got 0"),
        ("learning_rate_init", 0, r"learning_rate_init must be a positive number, got 0"),
        ("epsilon", -1e-8, r"epsilon must be a positive number, got -1e-08"),
        ("batch_size", 0, r"batch_size must be a positive integer or 'auto', got 0"),
        ("max_iter", 2.5, r"max_iter must be a positive integer, got 2.5"),
        ("max_fun", 0, r"max_fun must be a positive integer, got 0"),
        ("momentum", 1.0, r"momentum must be a number in \[0, 1\), got 1.0"),
        ("beta_2", 1, r"beta_2 must be a number in \[0, 1\), got 1"),
        ("alpha", -1, r"alpha must be a non-negative number, got -1"),
        ("tol", float("nan"), r"tol must be a non-negative number, got nan"),
        ("power_t", -0.5, r"power_t must be a non-negative number, got -0.5"),
        ("n_iter_no_change", 0, r"n_iter_no_change must be a positive integer or numpy.inf, got 0"),
        ("validation_fraction", 1, r"validation_fraction must be a number in \(0, 1\), got 1"),
        ("early_stopping", "yes", r"early_stopping must be True or False, got 'yes'"),
        ("nesterovs_momentum", 1, r"nesterovs_momentum must be True or False, got 1"),
        ("verbose", -1, r"verbose must be True, False or a non-negative integer, got -1"),
        ("random_state", "seed", r"random_state must be None, an integer or a numpy RandomState, got 'seed'"),
    ],
)
def test_bad_hyper_parameters_fail_in_fit_with_their_name(name, value, message):
    x, y = blobs(2)
    estimator = NeuralNetClassifier().set_params(**{name: value})  # set_params itself never fails
    with pytest.raises(ValueError, match=rf"^NeuralNetClassifier: {message}$"):
        estimator.fit(x, y)


def test_regressor_loss_is_checked_and_poisson_needs_counts():
    x, y = blobs(2)
    with pytest.raises(ValueError, match=r"^NeuralNetRegressor: loss must be one of \['squared_error', 'poisson'\], got 'huber'$"):
        NeuralNetRegressor(loss="huber").fit(x, y.astype(float))
    with pytest.raises(ValueError, match=r"^NeuralNetRegressor: loss='poisson' needs targets y >= 0, got a minimum of -1.0$"):
        NeuralNetRegressor(loss="poisson").fit(x, y - 1.0)


def test_learning_rate_as_a_number_is_deprecated_and_still_the_step_size():
    x, y = blobs(3, n=60)
    settings = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, tol=0)
    with pytest.warns(FutureWarning, match=r"learning_rate=0.05 as the step size is deprecated .* pass learning_rate_init=0.05"):
        old = NeuralNetClassifier(learning_rate=0.05, **settings).fit(x, y)
    new = NeuralNetClassifier(learning_rate_init=0.05, **settings).fit(x, y)
    for a, b in zip(weights(old), weights(new)):
        np.testing.assert_array_equal(a, b)


def test_sigmoid_is_kept_as_the_name_of_logistic():
    x, y = blobs(3, n=60)
    settings = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, tol=0)
    old = NeuralNetClassifier(activation="sigmoid", **settings).fit(x, y)
    new = NeuralNetClassifier(activation="logistic", **settings).fit(x, y)
    assert str(new.model_) == "Sequential(Linear(6 -> 8), Sigmoid(), Linear(8 -> 3))"
    for a, b in zip(weights(old), weights(new)):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_scores_held_out_data_and_keeps_the_best_weights():
    x, y = blobs(3, n=200)
    clf = NeuralNetClassifier(
        hidden_layer_sizes=(64,), learning_rate_init=0.05, early_stopping=True, n_iter_no_change=3,
        tol=0.0, max_iter=500, random_state=0,
    ).fit(x, y)
    scores = clf.validation_scores_
    assert clf.n_iter_ < 500 and len(scores) == clf.n_iter_ and clf.best_loss_ is None
    assert clf.best_validation_score_ == max(scores)
    # stopped after n_iter_no_change + 1 epochs in a row not above the best by tol
    assert all(score <= clf.best_validation_score_ for score in scores[-4:])
    with pytest.raises(ValueError, match=r"^The validation set is too small: NeuralNetRegressor's early stopping holds out 1 of 8 samples"):
        NeuralNetRegressor(early_stopping=True).fit(x[:8], y[:8])
    with pytest.raises(ValueError, match=r"^NeuralNetClassifier: early stopping cannot hold out validation_fraction=0.1 of 4 samples: The least populated classes .* are: \[1, 2\]$"):
        NeuralNetClassifier(early_stopping=True).fit(x[:4], [0, 0, 1, 2])


# --- the estimator object: clone, pickle, and the trained network as a backprop model -------


def test_pickle_and_joblib_round_trips_keep_predictions_and_the_training_state(tmp_path):
    x, y = blobs(3)
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(x, y)
    copy = pickle.loads(pickle.dumps(clf))
    joblib.dump(clf, tmp_path / "clf.joblib")
    loaded = joblib.load(tmp_path / "clf.joblib")
    for other in (copy, loaded):
        np.testing.assert_array_equal(other.predict_proba(x), clf.predict_proba(x))
    # The optimiser of the copy still updates the copy's own weights (the references survive).
    clf.partial_fit(x, y)
    copy.partial_fit(x, y)
    np.testing.assert_array_equal(copy.predict_proba(x), clf.predict_proba(x))
    assert copy.optimizer_.t == clf.optimizer_.t


def test_clone_gives_an_unfitted_estimator_with_the_same_parameters():
    clf = NeuralNetClassifier(hidden_layer_sizes=(5, 3), solver="sgd", random_state=1)
    clf.fit(*blobs(2))
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "model_")


def test_the_fitted_network_is_a_backprop_model(tmp_path):
    x, y = blobs(3)
    clf = NeuralNetClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(x.astype(np.float32), y)
    bp.save(clf.model_, tmp_path / "model.safetensors")
    model = bp.load(tmp_path / "model.safetensors")
    np.testing.assert_allclose(bp.predict(model, x.astype(np.float32)), clf.predict_proba(x), rtol=1e-6)
    assert "dL/dW" in bp.explain(clf.model_, bp.SoftmaxCrossEntropy(), x[:4].astype(np.float32), y[:4], apply=False)


@pytest.mark.slow
def test_import_backprop_does_not_import_the_estimators():
    code = "import sys, backprop; print('backprop.sklearn' in sys.modules, 'sklearn.base' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# --- scikit-learn's tools on the embedded digits ---------------------------------------------


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return bp.datasets.load_digits(flatten=True)


def test_pipeline_in_grid_search_on_digits(digits):
    x, y = digits
    pipeline = make_pipeline(StandardScaler(), NeuralNetClassifier(max_iter=30, random_state=0))
    search = GridSearchCV(pipeline, {"neuralnetclassifier__hidden_layer_sizes": [(4,), (64,)]}, cv=3)
    (x_train, y_train), (x_test, y_test) = bp.datasets.train_test_split(x, y, test_fraction=0.2, seed=0)
    with threadpool_limits(1):  # small products: see test_readme_example_runs_and_prints_its_accuracies
        search.fit(x_train, y_train)
    assert search.best_params_ == {"neuralnetclassifier__hidden_layer_sizes": (64,)}
    assert search.best_score_ > 0.93
    assert search.score(x_test, y_test) > 0.93
    means = search.cv_results_["mean_test_score"]
    assert means[0] < means[1]  # four hidden units really are worse: the search compared real fits


@pytest.mark.slow
def test_readme_example_runs_and_prints_its_accuracies():
    script = ROOT / "examples" / "sklearn_digits.py"
    # Products of 200 x 64 x 128 gain nothing from a second BLAS thread, and on a busy shared
    # machine that thread waits for a core at every product: one thread keeps the test quick.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=True, env=env)
    lines = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    code = script.read_text()
    assert code[code.index("from sklearn") :] in (ROOT / "README.md").read_text()  # README shows this script
    assert float(lines["cross_val_score mean accuracy"]) > 0.9
    assert float(lines["GridSearchCV test accuracy"]) > 0.9


# --- scikit-learn's fitted attributes are views of the backprop model ------------------------


def test_coefs_and_intercepts_are_views_of_the_model_in_scikit_learns_shapes():
    x, y = blobs(3)
    clf = NeuralNetClassifier(hidden_layer_sizes=(5, 4), max_iter=3, random_state=0).fit(x.astype(np.float32), y)
    assert [c.shape for c in clf.coefs_] == [(6, 5), (5, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (4,), (3,)]
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    np.testing.assert_array_equal(clf.coefs_[0], clf.model_[0].weight.T)
    before = clf.predict_proba(x)
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = 0
    np.testing.assert_array_equal(clf.model_[-1].weight, 0)  # written through to the network
    np.testing.assert_allclose(clf.predict_proba(x), 1 / 3, rtol=1e-6)
    assert not np.allclose(before, 1 / 3)
    assert not hasattr(NeuralNetClassifier(), "coefs_")


def test_a_poisson_regressor_saves_as_a_model_that_predicts_rates(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (300, 2))
    rates = np.exp(1.5 * x[:, 0] - x[:, 1] + 0.5)
    y = rng.poisson(rates).astype(float)
    reg = NeuralNetRegressor(loss="poisson", hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=300,
                             random_state=0).fit(x, y)
    assert reg.out_activation_ == "exp" and reg.model_.output_transform == "exp"
    predicted = reg.predict(x)
    assert predicted.min() > 0
    assert np.corrcoef(predicted, rates)[0, 1] > 0.95
    bp.save(reg.model_, tmp_path / "poisson.safetensors")
    loaded = bp.load(tmp_path / "poisson.safetensors")
    assert loaded.output_transform == "exp"
    np.testing.assert_allclose(bp.predict(loaded, x)[:, 0], predicted, rtol=1e-12)


def test_lbfgs_prints_each_iteration_and_has_no_partial_fit(capsys):
    x, y = blobs(3)
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5, verbose=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs stopped before converging, after 5 iterations"):
        clf.fit(x, y)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"Iteration {i + 1}, loss = {value:.8f}" for i, value in enumerate(clf.loss_curve_)]
    assert len(printed) == clf.n_iter_ == 5
    assert not hasattr(clf, "partial_fit") and hasattr(clf.set_params(solver="adam"), "partial_fit")


def test_sparse_input_reaches_bp_predict_as_it_is():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    x, y = blobs(3)
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(x, y)
    sparse = scipy_sparse.csr_matrix(np.where(np.abs(x) > 1, x, 0))
    np.testing.assert_allclose(bp.predict(clf.model_, sparse), bp.predict(clf.model_, sparse.toarray()), rtol=1e-12)
    with pytest.raises(TypeError, match=r"Linear\(6 -> 4\): expected sparse input of dtype float64 \(the layer's dtype\), got float32"):
        clf.model_(sparse.astype(np.float32))
    with pytest.raises(ValueError, match=r"Linear\(6 -> 4\): expected sparse input of shape \(N, 6\), got \(120, 5\)"):
        clf.model_(sparse[:, :5])
