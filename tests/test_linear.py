import numpy as np
import pytest

import backprop as bp

F64 = np.float64


def test_forward_is_x_times_w_transpose_plus_b_by_hand():
    layer = bp.Linear(2, 3, dtype=F64)
    layer.weight[...] = [[1, 2], [3, 4], [5, 6]]
    layer.bias[...] = [0.5, -1, 2]
    y = layer(np.array([[1.0, -1.0], [2.0, 0.5]]))
    # sample 0: [1-2, 3-4, 5-6] + b; sample 1: [2+1, 6+2, 10+3] + b
    np.testing.assert_array_equal(y, [[-0.5, -2.0, 1.0], [3.5, 7.0, 15.0]])


def test_backward_by_hand():
    layer = bp.Linear(2, 3, dtype=F64)
    layer.weight[...] = [[1, 2], [3, 4], [5, 6]]
    x = np.array([[1.0, -1.0], [2.0, 0.5]])
    layer(x)
    gy = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 1.0]])
    gx = layer.backward(gy)
    np.testing.assert_array_equal(gx, [[1 - 5, 2 - 6], [6 + 5, 8 + 6]])
    np.testing.assert_array_equal(layer.grads["weight"], gy.T @ x)
    np.testing.assert_array_equal(layer.grads["bias"], [1.0, 2.0, 0.0])


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_finite_differences(batch, bias):
    rng = np.random.default_rng(batch)
    layer = bp.Linear(7, 4, bias=bias, dtype=F64, rng=rng)
    result = bp.gradcheck(layer, rng.standard_normal((batch, 7)), rng=rng)
    assert set(result.relative_errors) == ({"input", "weight", "bias"} if bias else {"input", "weight"})
    assert result.passed


def test_backward_sets_rather_than_accumulates():
    rng = np.random.default_rng(0)
    layer = bp.Linear(3, 2, dtype=F64, rng=rng)
    x, gy = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    layer.backward(gy)
    first = {name: g.copy() for name, g in layer.grads.items()}
    grad_arrays = dict(layer.grads)
    layer.backward(gy)
    for name, g in layer.grads.items():
        np.testing.assert_array_equal(g, first[name])
        assert g is grad_arrays[name]


def test_shapes_dtype_and_default_init():
    layer = bp.Linear(784, 256, rng=0)
    assert layer.weight.shape == (256, 784) and layer.bias.shape == (256,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    bound = 1 / np.sqrt(784)
    assert np.abs(layer.weight).max() <= bound and np.abs(layer.weight).max() > 0.9 * bound
    assert np.abs(layer.bias).max() <= bound
    assert bp.Linear(3, 2, dtype=F64)(np.ones((1, 3))).dtype == F64
    assert bp.Linear(3, 2)(np.ones((2, 3), np.float32)).dtype == np.float32


def test_seeded_init_is_reproducible():
    np.testing.assert_array_equal(bp.Linear(5, 3, rng=7).weight, bp.Linear(5, 3, rng=7).weight)
    assert not np.array_equal(bp.Linear(5, 3, rng=7).weight, bp.Linear(5, 3, rng=8).weight)


def test_default_dtype_can_be_changed():
    try:
        bp.set_default_dtype(np.float64)
        assert bp.Linear(2, 2).weight.dtype == F64
    finally:
        bp.set_default_dtype(np.float32)
    assert bp.get_default_dtype() == np.float32
    with pytest.raises(TypeError, match="float32 or float64, got int32"):
        bp.set_default_dtype(np.int32)


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (np.zeros((32, 28, 28), np.float32), ValueError, r"Linear\(784 -> 256\): expected input of shape \(N, 784\), got \(32, 28, 28\)"),
        (np.zeros((32, 100), np.float32), ValueError, r"expected input of shape \(N, 784\), got \(32, 100\)"),
        (np.zeros((32, 784), np.float64), TypeError, r"Linear\(784 -> 256\): expected input of dtype float32.*got float64"),
        (np.zeros((0, 784), np.float32), ValueError, r"at least one sample"),
        ([[0.0] * 784], TypeError, r"expected a numpy.ndarray, got list"),
    ],
)
def test_bad_input_names_layer_expected_and_given(x, error, message):
    with pytest.raises(error, match=message):
        bp.Linear(784, 256)(x)


def test_backward_errors():
    layer = bp.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(4 -> 3\): backward called before forward"):
        layer.backward(np.zeros((2, 3), np.float32))
    layer(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"expected gradient of shape \(2, 3\).*got \(2, 4\)"):
        layer.backward(np.zeros((2, 4), np.float32))


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3)])
def test_bad_sizes(args):
    with pytest.raises(ValueError, match="must be a positive integer"):
        bp.Linear(*args)


def test_bad_dtype():
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int64"):
        bp.Linear(2, 2, dtype=np.int64)


# --- sparse input ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["csr", "csc", "coo"])
def test_sparse_input_gives_the_dense_forward_and_weight_gradient(form):
    import scipy.sparse

    rng = np.random.default_rng(0)
    dense = rng.standard_normal((6, 40)) * (rng.random((6, 40)) < 0.1)
    sparse = scipy.sparse.csr_matrix(dense).asformat(form)
    gy = rng.standard_normal((6, 3))
    results = []
    for x in (dense, sparse):
        layer = bp.Linear(40, 3, dtype=np.float64, rng=1)
        y = layer(x)
        layer.backward(gy, input_grad=False)
        results.append((y, layer.grads["weight"].copy(), layer.grads["bias"].copy()))
    for got, expected in zip(results[1], results[0]):
        assert isinstance(got, np.ndarray)
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_fit_and_evaluate_take_sparse_input_as_their_dense_copy():
    import scipy.sparse

    rng = np.random.default_rng(2)
    dense = (rng.standard_normal((80, 30)) * (rng.random((80, 30)) < 0.2)).astype(np.float64)
    y = (dense[:, :15].sum(axis=1) > 0).astype(np.int64)
    runs = []
    for x in (dense, scipy.sparse.csr_matrix(dense)):
        model = bp.Sequential(bp.Linear(30, 8, dtype=np.float64, rng=0), bp.ReLU(), bp.Linear(8, 2, dtype=np.float64, rng=0))
        history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, y, epochs=3, batch_size=16, progress=False)
        runs.append((history["loss"], [p.copy() for p in model.params.values()], bp.evaluate(model, bp.SoftmaxCrossEntropy(), x, y)))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-12)
    for got, expected in zip(runs[1][1], runs[0][1]):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    assert runs[1][2]["accuracy"] == runs[0][2]["accuracy"]


def test_non_finite_values_in_sparse_input_are_named_by_row_and_column():
    import scipy.sparse

    x = scipy.sparse.csr_matrix(np.eye(4, 6))
    x.data[2] = np.nan
    model = bp.Sequential(bp.Linear(6, 2, dtype=np.float64, rng=0))
    with pytest.raises(ValueError, match=r"^fit: x holds 1 NaN values; the first at sample 2, feature 2$"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1), x, np.zeros(4, np.int64), epochs=1, progress=False)
