"""Prepared passes of Sequential: the same numbers as the checked path, nothing a user holds is reused.

After one checked forward of a batch shape, Sequential runs its layers without the input
checks, through reused buffers and in place (``Layer._prepared_forward``); these tests pin
that this changes no value, no gradient and no array a user was given.
"""

import numpy as np
import pytest
from gradients import check_gradients

import backprop as bp

F32, F64 = np.float32, np.float64


def mlp(activation=bp.ReLU, dtype=F32, seed=0, last=None):
    rng = np.random.default_rng(seed)
    layers = [bp.Linear(8, 6, dtype=dtype, rng=rng), activation(), bp.Linear(6, 5, dtype=dtype, rng=rng)]
    layers += [activation(), bp.Linear(5, 3, dtype=dtype, rng=rng)]
    return bp.Sequential(*layers, *([last()] if last else []))


@pytest.mark.parametrize("activation", [bp.ReLU, bp.Sigmoid])
@pytest.mark.parametrize("last", [None, bp.ReLU, bp.Sigmoid])
def test_outputs_and_input_gradients_never_alias_a_reused_buffer(activation, last):
    model = mlp(activation, last=last)
    rng = np.random.default_rng(1)
    x1, x2, x3 = (rng.standard_normal((4, 8)).astype(F32) for _ in range(3))
    model(x1)  # the checked pass; the next ones run prepared
    a = model(x2)
    kept = a.copy()
    b = model(x3)
    np.testing.assert_array_equal(a, kept)
    assert not np.shares_memory(a, b)
    gy1, gy2 = rng.standard_normal(b.shape).astype(F32), rng.standard_normal(b.shape).astype(F32)
    gy1_kept = gy1.copy()
    g1 = model.backward(gy1)
    g1_kept = g1.copy()
    model(x3)
    g2 = model.backward(gy2)
    np.testing.assert_array_equal(g1, g1_kept)
    np.testing.assert_array_equal(gy1, gy1_kept)  # the caller's gradient is not overwritten
    assert not np.shares_memory(g1, g2)
    # The outputs are what the layers give when called one by one (the checked path).
    h = x3
    for layer in model:
        h = layer(h)
    np.testing.assert_array_equal(model(x3), h)


@pytest.mark.parametrize("activation", [bp.ReLU, bp.Sigmoid])
def test_training_is_bit_identical_to_the_checked_path(activation, monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((70, 8)).astype(F32)
    y = rng.integers(0, 3, 70)

    def train():
        model = mlp(activation)
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1, momentum=0.9), x, y,
               epochs=3, batch_size=16, progress=False, seed=3)  # the last batch of 6 is a second shape
        return model

    prepared = train()
    monkeypatch.setattr(bp.Sequential, "_is_checked", lambda self, x: False)
    checked = train()
    assert prepared._checked is not None and checked._checked is not None
    for name, value in prepared.params.items():
        np.testing.assert_array_equal(value, checked.params[name], err_msg=name)


@pytest.mark.parametrize("activation", [bp.ReLU, bp.Sigmoid])
def test_prepared_backward_matches_finite_differences_in_float64(activation):
    model = mlp(activation, dtype=F64, last=bp.Sigmoid)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 8))
    model(x)
    assert model._is_checked(x)  # every call inside the check runs prepared
    check_gradients(model, x, rng)


def test_prepared_backward_params_sets_the_same_gradients_as_backward():
    model = mlp()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 8)).astype(F32)
    gy = rng.standard_normal((4, 3)).astype(F32)
    model(x)
    model(x)
    model.backward(gy)
    full = {name: g.copy() for name, g in model.grads.items()}
    model(x)
    model.backward_params(gy)
    for name, g in model.grads.items():
        np.testing.assert_array_equal(g, full[name], err_msg=name)


def test_inputs_are_still_checked_after_a_shape_was_prepared():
    model = mlp()
    x = np.zeros((4, 8), F32)
    model(x)
    model(x)
    with pytest.raises(TypeError, match=r"Linear\(8 -> 6\): expected input of dtype float32"):
        model(x.astype(F64))
    with pytest.raises(ValueError, match=r"Linear\(8 -> 6\): expected input of shape \(N, 8\), got \(4, 7\)"):
        model(np.zeros((4, 7), F32))
    model(x)
    with pytest.raises(ValueError, match=r"Linear\(5 -> 3\): expected gradient of shape \(4, 3\)"):
        model.backward(np.zeros((4, 2), F32))
    with pytest.raises(TypeError, match=r"ReLU\(\): expected input of dtype|expected a numpy.ndarray"):
        model[1]([[1.0]])


def test_a_model_whose_layers_changed_checks_again():
    model = mlp()
    x = np.zeros((4, 8), F32)
    model(x)
    model.layers.append(bp.Linear(4, 2, dtype=F32))  # does not fit: 3 outputs before it
    with pytest.raises(ValueError, match=r"Linear\(4 -> 2\): expected input of shape \(N, 4\), got \(4, 3\)"):
        model(x)
