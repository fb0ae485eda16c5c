import numpy as np
import pytest

import backprop as bp

F64 = np.float64


def mlp(dtype=F64, seed=0):
    rng = np.random.default_rng(seed)
    return bp.Sequential(
        bp.Linear(6, 5, dtype=dtype, rng=rng), bp.ReLU(), bp.Linear(5, 4, dtype=dtype, rng=rng), bp.Softmax()
    )


def test_forward_and_backward_compose_the_layers():
    model = mlp()
    x = np.random.default_rng(1).standard_normal((3, 6))
    h = model[1](model[0](x))
    np.testing.assert_allclose(model(x), model[3](model[2](h)))
    gy = np.ones((3, 4))
    gx = model.backward(gy)
    by_hand = model[0].backward(model[1].backward(model[2].backward(model[3].backward(gy))))
    np.testing.assert_allclose(gx, by_hand)


def test_params_and_grads_are_the_layers_arrays():
    model = mlp()
    assert list(model.params) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(model.grads) == list(model.params)
    assert model.params["0.weight"] is model[0].weight
    assert model.grads["2.bias"] is model[2].grads["bias"]
    model.params["0.weight"] -= 1.0
    np.testing.assert_array_equal(model[0].weight, model.params["0.weight"])


def test_params_and_grads_are_built_once_and_append_extends_them():
    model = mlp()
    params, grads = model.params, model.grads
    assert model.params is params and model.grads is grads  # ordinary dicts, not rebuilt per access
    assert model.dtype == F64 and bp.ReLU().dtype is None
    extra = bp.Linear(4, 3, dtype=F64)
    assert model.append(extra) is model
    assert model.params is params and len(model) == 5 and model[4] is extra
    assert list(params)[-2:] == ["4.weight", "4.bias"]
    assert params["4.weight"] is extra.weight and grads["4.bias"] is extra.grads["bias"]
    assert model(np.ones((2, 6))).shape == (2, 3)
    with pytest.raises(AttributeError):
        model.layers.append(bp.ReLU())  # a tuple: growing a model goes through append
    with pytest.raises(TypeError, match="Sequential: argument 5 must be a backprop layer, got str"):
        model.append("relu")


def test_nested_sequential_keys():
    model = bp.Sequential(bp.Sequential(bp.Linear(2, 2)), bp.ReLU(), bp.Linear(2, 1))
    assert list(model.params) == ["0.0.weight", "0.0.bias", "2.weight", "2.bias"]


def test_whole_model_gradcheck_with_loss():
    rng = np.random.default_rng(2)
    model = bp.Sequential(
        bp.Linear(5, 8, dtype=F64, rng=rng), bp.Tanh(), bp.Linear(8, 8, dtype=F64, rng=rng), bp.Sigmoid(),
        bp.Linear(8, 3, dtype=F64, rng=rng),
    )
    result = bp.gradcheck(model, rng.standard_normal((4, 5)), rng.integers(0, 3, 4), loss=bp.SoftmaxCrossEntropy())
    assert len(result.relative_errors) == 7 and result.passed


def test_state_dict_is_a_copy_and_round_trips():
    model, other = mlp(seed=0), mlp(seed=1)
    state = model.state_dict()
    state["0.weight"][...] = 0
    assert model[0].weight.any()
    other.load_state_dict(model.state_dict())
    for name, value in model.params.items():
        np.testing.assert_array_equal(other.params[name], value)
    x = np.ones((2, 6))
    np.testing.assert_array_equal(other(x), model(x))


def test_load_state_dict_converts_to_the_parameters_dtype():
    model = mlp(dtype=np.float32)
    state = {name: value.astype(F64) + 1 for name, value in model.params.items()}
    model.load_state_dict(state)
    assert model[0].weight.dtype == np.float32
    np.testing.assert_allclose(model[0].weight, state["0.weight"], rtol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("2.bias"), r"missing keys \['2.bias'\], unexpected keys \[\]"),
        (lambda s: s.update({"9.weight": np.zeros(1)}), r"missing keys \[\], unexpected keys \['9.weight'\]"),
        (lambda s: s.update({"0.weight": np.zeros((6, 5))}), r"0.weight expected shape \(5, 6\), got \(6, 5\)"),
    ],
)
def test_load_state_dict_rejects_bad_keys_without_changing_anything(change, message):
    model = mlp()
    before = model.state_dict()
    state = mlp(seed=3).state_dict()
    change(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    for name, value in model.params.items():
        np.testing.assert_array_equal(value, before[name])


def test_sequential_rejects_non_layers_and_reports_first_layer_errors():
    with pytest.raises(TypeError, match="Sequential: argument 1 must be a backprop layer, got ufunc"):
        bp.Sequential(bp.ReLU(), np.tanh)
    with pytest.raises(ValueError, match=r"Linear\(6 -> 5\): expected input of shape \(N, 6\), got \(2, 7\)"):
        mlp()(np.zeros((2, 7)))


def test_repr_and_config():
    model = bp.Sequential(bp.Linear(2, 3, rng=0), bp.ReLU())
    assert str(model) == "Sequential(Linear(2 -> 3), ReLU())"
    assert "(0): Linear(in_features=2, out_features=3, bias=True, dtype='float32')" in repr(model)
    assert model.config() == {
        "layers": [
            {"type": "Linear", "config": {"in_features": 2, "out_features": 3, "bias": True, "dtype": "float32"}},
            {"type": "ReLU", "config": {}},
        ]
    }


def test_backward_without_the_input_gradient_sets_the_same_gradients():
    rng = np.random.default_rng(5)
    model = bp.Sequential(
        bp.Flatten(), bp.Linear(12, 6, dtype=F64, rng=rng), bp.ReLU(), bp.Linear(6, 3, dtype=F64, rng=rng)
    )
    x, gy = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal((4, 3))
    model(x)
    model.backward(gy)
    expected = {name: g.copy() for name, g in model.grads.items()}
    for g in model.grads.values():
        g[...] = np.nan
    assert model.backward(gy, input_grad=False) is None
    for name, g in model.grads.items():
        np.testing.assert_array_equal(g, expected[name])


def test_backward_params_is_deprecated_and_still_sets_the_gradients():
    rng = np.random.default_rng(5)
    model = bp.Sequential(bp.Linear(4, 3, dtype=F64, rng=rng), bp.ReLU(), bp.Linear(3, 2, dtype=F64, rng=rng))
    x, gy = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    model(x)
    model.backward(gy)
    expected = {name: g.copy() for name, g in model.grads.items()}
    model(x)
    with pytest.warns(DeprecationWarning, match=r"Sequential.backward_params\(gy\) is deprecated; call backward\(gy, input_grad=False\)"):
        assert model.backward_params(gy) is None
    for name, g in model.grads.items():
        np.testing.assert_array_equal(g, expected[name])


def test_backward_without_the_input_gradient_of_conv_and_nested_models():
    rng = np.random.default_rng(6)
    inner = bp.Sequential(bp.Conv2d(2, 3, 3, padding=1, dtype=F64, rng=rng), bp.ReLU())
    model = bp.Sequential(inner, bp.Flatten(), bp.Linear(3 * 4 * 4, 2, dtype=F64, rng=rng))
    x, gy = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((2, 2))
    model(x)
    model.backward(gy)
    expected = {name: g.copy() for name, g in model.grads.items()}
    assert model.backward(gy, input_grad=False) is None
    for name, g in model.grads.items():
        np.testing.assert_allclose(g, expected[name], rtol=1e-14)


def _mlp():
    return bp.Sequential(bp.Linear(4, 8, rng=0), bp.ReLU(), bp.Linear(8, 3, rng=1), bp.Sigmoid()), (5, 4)


def _cnn():  # two Conv2d-ReLU-MaxPool2d blocks, whose inner buffers are reused in training
    layers = [bp.Conv2d(1, 3, 3, padding=1, rng=0), bp.ReLU(), bp.MaxPool2d(2)]
    layers += [bp.Conv2d(3, 4, 3, padding=1, rng=1), bp.ReLU(), bp.MaxPool2d(2)]
    return bp.Sequential(*layers, bp.Flatten(), bp.Linear(16, 3, rng=2)), (5, 1, 8, 8)


@pytest.mark.parametrize("make", [_mlp, _cnn])
def test_outputs_never_alias_a_buffer_the_model_reuses(make):
    """``a = model(x1); b = model(x2)`` leaves ``a`` as it was, and so do input gradients."""
    rng = np.random.default_rng(0)
    model, shape = make()
    x1, x2 = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    a = model(x1)
    kept = a.copy()
    gx1 = model.backward(np.ones_like(a))
    kept_gx = gx1.copy()
    b = model(x2)
    model.backward(np.full_like(b, 2.0))
    np.testing.assert_array_equal(a, kept)
    np.testing.assert_array_equal(gx1, kept_gx)
    assert not np.shares_memory(a, b)


def test_a_layer_written_before_input_grad_still_trains_and_is_warned_about():
    """A user's layer with the old ``backward(self, gy)``: called without the flag, warned once."""

    class Scale(bp.Layer):
        def __init__(self):
            super().__init__()
            self.add_param("weight", np.array([2.0]))

        def forward(self, x):
            self._x = x
            return x * self.params["weight"]

        def backward(self, gy):
            self.grads["weight"][...] = np.sum(gy * self._x)
            return gy * self.params["weight"]

    model = bp.Sequential(Scale(), bp.Linear(3, 2, dtype=F64, rng=0))
    x = np.random.default_rng(0).standard_normal((4, 3))
    y = np.array([0, 1, 1, 0])
    with pytest.warns(DeprecationWarning, match=r"Scale.backward\(gy\) takes no input_grad"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, y, epochs=2, batch_size=2, progress=False)
    assert model.params["0.weight"][0] != 2.0  # its gradient was set and used


def test_a_users_layer_with_parameters_trains_checks_and_saves_its_state():
    """What the README tells a user: subclass bp.Layer, register weights with add_param, write the
    gradient into grad_buffer; the optimisers, gradcheck and state_dict then take the layer as theirs."""

    class PerFeatureScale(bp.Layer):
        """y = x * s + c, per feature: dL/ds = sum_n gy x, dL/dc = sum_n gy, dL/dx = gy * s."""

        def __init__(self, features):
            super().__init__()
            self.add_param("scale", np.ones(features))
            self.add_param("shift", np.zeros(features))

        def forward(self, x):
            self._x = x
            return x * self.params["scale"] + self.params["shift"]

        def backward(self, gy, input_grad=True):
            np.sum(gy * self._x, axis=0, out=self.grad_buffer("scale"))
            np.sum(gy, axis=0, out=self.grad_buffer("shift"))
            return gy * self.params["scale"] if input_grad else None

    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    assert bp.gradcheck(PerFeatureScale(3), x).passed
    model = bp.Sequential(PerFeatureScale(3), bp.Linear(3, 2, dtype=F64, rng=0))
    assert list(model.params)[:2] == ["0.scale", "0.shift"]
    before = model.state_dict()["0.scale"].copy()
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.Adam(model, 0.05), x, np.array([0, 1, 1, 0, 1, 0]),
                     epochs=20, batch_size=3, progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert not np.array_equal(model.state_dict()["0.scale"], before)  # Adam updated it in place
