"""Copies of models, optimisers, schedules and estimators train on exactly as the originals do.

A user may copy the objects in memory five ways: pickle, joblib (plain or compressed),
``copy.deepcopy`` and cloudpickle. joblib, unlike the others, does not keep two references to
one array as one array, so no invariant may rest on identity surviving a copy: a ``Sequential``'s
flat ``params`` must be its layers' arrays again, an optimiser must update the copied model's
arrays (SGD's fused step finds them by ``id``), a schedule must drive the copied optimiser.
Each test trains the original and the copy the same further steps and compares every parameter
with ``np.array_equal``, for a copy made before any training and one made after some; training
the copy must leave the original as it was.
"""

import copy
import pickle

import cloudpickle
import joblib
import numpy as np
import pytest

import backprop as bp
from backprop.layers.conv_relu_pool import ConvReLUPool
from backprop.optim import FUSED_MIN_SIZE
from backprop.sklearn import NeuralNetClassifier, NeuralNetRegressor


def _joblib(obj, path, compress=0):
    joblib.dump(obj, path, compress=compress)
    return joblib.load(path)


COPIES = {
    "pickle": lambda obj, path: pickle.loads(pickle.dumps(obj)),
    "joblib": lambda obj, path: _joblib(obj, path),
    "joblib-compress3": lambda obj, path: _joblib(obj, path, compress=3),
    "deepcopy": lambda obj, path: copy.deepcopy(obj),
    "cloudpickle": lambda obj, path: cloudpickle.loads(cloudpickle.dumps(obj)),
}


@pytest.fixture(params=list(COPIES))
def copier(request, tmp_path):
    """``copier(obj)``: a copy of ``obj`` made the way the test's parameter names."""
    return lambda obj: COPIES[request.param](obj, tmp_path / "copy.joblib")


def digits(n=256, images=False):
    x, y = bp.datasets.load_digits(flatten=not images)
    return x[:n], y[:n]


def fused_mlp():
    """Fused SGD with momentum (the first weight has FUSED_MIN_SIZE elements) under CosineLR."""
    model = bp.Sequential(bp.Linear(64, 256, rng=0), bp.ReLU(), bp.Linear(256, 10, rng=1))
    assert model[0].weight.size >= FUSED_MIN_SIZE
    optimizer = bp.SGD(model, lr=0.05, momentum=0.9)
    return model, optimizer, bp.CosineLR(optimizer, t_max=5)


def adam_mlp():
    model = bp.Sequential(bp.Linear(64, 32, rng=2), bp.Tanh(), bp.Linear(32, 10, rng=3))
    optimizer = bp.Adam(model, lr=1e-2, weight_decay=1e-4)
    return model, optimizer, bp.StepLR(optimizer, step_size=2, gamma=0.5)


def cnn():
    """Two Conv2d-ReLU-MaxPool2d blocks and Dropout, whose generator must continue alike."""
    model = bp.Sequential(
        bp.Conv2d(1, 4, 3, padding=1, rng=4), bp.ReLU(), bp.MaxPool2d(2),
        bp.Conv2d(4, 8, 3, padding=1, rng=5), bp.ReLU(), bp.MaxPool2d(2),
        bp.Flatten(), bp.Dropout(0.25, rng=6), bp.Linear(32, 10, rng=7),
    )
    optimizer = bp.SGD(model, lr=0.05, momentum=0.9)
    return model, optimizer, None


SETUPS = {"fused-sgd-momentum": (fused_mlp, False), "adam": (adam_mlp, False), "cnn-dropout": (cnn, True)}


def train(model, optimizer, schedule, data, epochs, seed):
    bp.fit(
        model, bp.SoftmaxCrossEntropy(), optimizer, *data, epochs=epochs, batch_size=32, seed=seed,
        progress=False, schedule=schedule,
    )


def snapshot(model, optimizer):
    """Copies of every parameter and of the optimiser's whole state, to compare later."""
    return {name: w.copy() for name, w in model.params.items()}, optimizer.state_dict()


def assert_same_state(a, b):
    (params_a, state_a), (params_b, state_b) = a, b
    assert params_a.keys() == params_b.keys() and state_a.keys() == state_b.keys()
    for name in params_a:
        assert np.array_equal(params_a[name], params_b[name]), name
    for key in state_a:
        assert np.array_equal(state_a[key], state_b[key]), key


def generators(model):
    return [layer.rng.bit_generator.state for layer in model.modules() if isinstance(layer, bp.Dropout)]


def test_a_copied_model_builds_its_shared_references_from_its_own_layers(copier):
    """The flat dicts and the blocks point at the copy's layers, and no array is the original's."""
    model = cnn()[0]
    model(digits(8, images=True)[0])  # forward caches and scratch buffers exist, as after training
    twin = copier(model)
    for index, layer in enumerate(twin.layers):
        for name, array in layer.params.items():
            assert twin.params[f"{index}.{name}"] is array
            assert twin.grads[f"{index}.{name}"] is layer.grads[name]
    assert twin[0].weight is twin[0].params["weight"] and twin[8].bias is twin[8].params["bias"]
    blocks = [step for step in twin.steps if isinstance(step, ConvReLUPool)]
    assert [(block.conv, block.relu, block.pool) for block in blocks] == [twin.layers[0:3], twin.layers[3:6]]
    for name in model.params:
        assert not np.shares_memory(twin.params[name], model.params[name])
        assert not np.shares_memory(twin.grads[name], model.grads[name])
    # The bare model of issue 18: an optimiser made on the copy must reach the copy's layers.
    small = copier(bp.Sequential(bp.Linear(4, 3), bp.ReLU(), bp.Linear(3, 2)))
    assert small.params["0.weight"] is small.layers[0].params["weight"]


@pytest.mark.slow
@pytest.mark.parametrize("when", ["before-training", "after-training"])
@pytest.mark.parametrize("setup", list(SETUPS))
def test_a_copied_fit_setup_trains_on_bit_identically(copier, setup, when):
    """``(model, loss, optimizer, schedule)`` copied as one: ``bp.fit`` goes on alike in both."""
    make, images = SETUPS[setup]
    data = digits(images=images)
    model, optimizer, schedule = make()
    if when == "after-training":
        train(model, optimizer, schedule, data, epochs=2, seed=1)
    twin, _, twin_optimizer, twin_schedule = copier((model, bp.SoftmaxCrossEntropy(), optimizer, schedule))
    assert twin_optimizer.model is twin and (schedule is None or twin_schedule.optimizer is twin_optimizer)
    before = snapshot(model, optimizer)
    train(twin, twin_optimizer, twin_schedule, data, epochs=2, seed=2)
    assert_same_state(snapshot(model, optimizer), before)  # the copy shares nothing it updates
    train(model, optimizer, schedule, data, epochs=2, seed=2)
    assert_same_state(snapshot(twin, twin_optimizer), snapshot(model, optimizer))
    assert twin_optimizer.t == optimizer.t and twin_optimizer.lr == optimizer.lr
    assert generators(twin) == generators(model)
    if setup == "fused-sgd-momentum":
        # fit's fused step never writes the large weight's gradient: it ran on the copy too
        assert not np.any(twin.grads["0.weight"]) and not np.any(model.grads["0.weight"])


@pytest.mark.parametrize("when", ["before-training", "after-training"])
def test_a_copied_model_trains_on_with_a_new_optimizer_and_by_hand(copier, when):
    """The model copied alone: a new optimiser on it (fused SGD in fit), then steps by hand
    with Nesterov and weight decay (the unfused rule)."""
    data = digits()
    model = fused_mlp()[0]
    if when == "after-training":
        train(model, bp.SGD(model, lr=0.05, momentum=0.9), None, data, epochs=1, seed=3)
    twin = copier(model)
    loss = bp.SoftmaxCrossEntropy()
    results = []
    for net in (twin, model):
        train(net, bp.SGD(net, lr=0.05, momentum=0.9), None, data, epochs=1, seed=4)
        optimizer = bp.SGD(net, lr=0.01, momentum=0.5, nesterov=True, weight_decay=1e-3)
        for start in range(0, 96, 32):
            loss(net(data[0][start : start + 32]), data[1][start : start + 32])
            net.backward(loss.backward())
            optimizer.step()
        results.append(snapshot(net, optimizer))
    assert_same_state(*results)


@pytest.mark.parametrize("when", ["before-training", "after-training"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_copied_classifier_goes_on_with_partial_fit(copier, solver, when):
    x, y = digits(200)
    classes = np.arange(10)
    estimator = NeuralNetClassifier(hidden_layer_sizes=(16,), solver=solver, learning_rate_init=0.01, random_state=0)
    if when == "after-training":
        estimator.partial_fit(x, y, classes=classes)
    twin = copier(estimator)
    for _ in range(2):
        twin.partial_fit(x, y, classes=classes)
    if when == "after-training":
        assert not np.array_equal(twin.model_.params["0.weight"], estimator.model_.params["0.weight"])
    for _ in range(2):
        estimator.partial_fit(x, y, classes=classes)
    assert_same_state(snapshot(twin.model_, twin.optimizer_), snapshot(estimator.model_, estimator.optimizer_))
    assert twin.loss_curve_ == estimator.loss_curve_ and twin.t_ == estimator.t_
    assert np.array_equal(twin.predict_proba(x), estimator.predict_proba(x))


@pytest.mark.parametrize("when", ["before-training", "after-training"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_copied_regressor_goes_on_with_a_warm_start(copier, solver, when):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 5))
    y = x @ rng.standard_normal(5) + 0.1 * rng.standard_normal(120)
    estimator = NeuralNetRegressor(
        hidden_layer_sizes=(12,), solver=solver, learning_rate_init=0.01, max_iter=3, warm_start=True,
        random_state=1,
    )
    if when == "after-training":
        estimator.fit(x, y)
    twin = copier(estimator)
    twin.fit(x, y)
    if when == "after-training":
        assert not np.array_equal(twin.model_.params["0.weight"], estimator.model_.params["0.weight"])
    estimator.fit(x, y)
    assert_same_state(snapshot(twin.model_, twin.optimizer_), snapshot(estimator.model_, estimator.optimizer_))
    assert twin.loss_curve_ == estimator.loss_curve_ and twin.n_iter_ == estimator.n_iter_
    assert np.array_equal(twin.predict(x), estimator.predict(x))


def test_an_optimizer_kept_on_its_model_cannot_be_rebuilt_and_says_why():
    """A model that refers back to its optimiser is a cycle pickle finishes in the wrong order
    for the optimiser to find the model's arrays: a readable error, not a silent copy."""
    model = bp.Sequential(bp.Linear(4, 3))
    model.optimizer = bp.SGD(model, lr=0.1)
    with pytest.raises(TypeError, match=r"^SGD: expected its model unpickled before it, got a Sequential without params"):
        pickle.loads(pickle.dumps(model))
    copied = pickle.loads(pickle.dumps(model.optimizer))  # the optimiser first: the model is whole
    assert copied.model.optimizer is copied and copied.model.params["0.weight"] is copied.model[0].weight
    copied.model[0].grads["weight"][...] = 1.0
    before = copied.model[0].weight.copy()
    copied.step()
    np.testing.assert_allclose(copied.model[0].weight, before - np.float32(0.1), rtol=1e-6)
