import numpy as np
import pytest

import backprop as bp

F64 = np.float64
ACTIVATIONS = [bp.ReLU, bp.Sigmoid, bp.Tanh, bp.Softmax]


def test_forward_values():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(bp.ReLU()(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(bp.Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(bp.Tanh()(x), np.tanh(x), rtol=1e-15)
    e = np.exp(x)
    np.testing.assert_allclose(bp.Softmax()(x), e / e.sum(), rtol=1e-15)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 5), (4, 6), (3, 2, 4)])
def test_gradients_match_finite_differences(activation, shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    # ReLU is checked away from its kink, where the derivative is undefined.
    x[np.abs(x) < 1e-3] = 0.5
    assert bp.gradcheck(activation(), x, rng=rng).passed


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dtype_is_kept(activation):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    layer = activation()
    y = layer(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_elementwise_jacobians_are_diagonal():
    x = np.random.default_rng(1).standard_normal((2, 3)) + 0.1
    for activation in (bp.ReLU(), bp.Sigmoid(), bp.Tanh()):
        jac = bp.jacobian(activation, x)
        np.testing.assert_array_equal(jac, np.diag(np.diag(jac)))
    y = bp.Sigmoid()(x).ravel()
    np.testing.assert_allclose(np.diag(bp.jacobian(bp.Sigmoid(), x)), y * (1 - y), rtol=1e-12)


def test_softmax_jacobian_is_diag_y_minus_outer_y_y_per_sample():
    x = np.random.default_rng(2).standard_normal((2, 4))
    jac = bp.jacobian(bp.Softmax(), x)
    y = bp.Softmax()(x)
    for n in range(2):
        block = jac[4 * n : 4 * n + 4, 4 * n : 4 * n + 4]
        np.testing.assert_allclose(block, np.diag(y[n]) - np.outer(y[n], y[n]), atol=1e-15)
    # samples do not interact: the off-diagonal blocks are zero
    assert not jac[:4, 4:].any() and not jac[4:, :4].any()


@pytest.mark.parametrize("dtype", [np.float32, F64])
def test_extreme_inputs_stay_finite(dtype):
    x = np.array([[1e4, -1e4, 0.0], [84.5, -29.5, -29.5]], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for layer in (bp.Softmax(), bp.Sigmoid(), bp.Tanh()):
            y = layer(x)
            assert np.isfinite(y).all()
            assert np.isfinite(layer.backward(np.ones_like(y))).all()
    np.testing.assert_allclose(bp.Softmax()(x)[0], [1, 0, 0])


@pytest.mark.parametrize("dtype", [np.float32, F64])
def test_sigmoid_keeps_its_digits_in_the_left_tail(dtype):
    """``(1 + tanh(x/2)) / 2`` cancelled: float32 gave 0 from x = -20 and was 2.6% off at -15.

    The two-branch form is within a few ulp down to the smallest normal output (x = -87 in
    float32); ``tests/test_numerics_tails.py`` checks every range against mpmath.
    """
    x = np.array([[-15.0, -20.0, -38.0, -87.0, 0.0, 20.0]], dtype)
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    y = bp.Sigmoid()(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, exact, rtol=4 * np.finfo(dtype).eps)
    assert y[0, 1] == pytest.approx(2.0611536181902037e-09, rel=4 * float(np.finfo(dtype).eps))
    # the derivative y (1 - y) in the left tail is as good as y
    layer = bp.Sigmoid()
    layer(x[:, :4])
    np.testing.assert_allclose(layer.backward(np.ones((1, 4), dtype)), exact[:, :4] * (1 - exact[:, :4]),
                               rtol=8 * np.finfo(dtype).eps)


def test_sigmoid_of_infinities_and_nan():
    y = bp.Sigmoid()(np.array([[-np.inf, np.inf, np.nan, -0.0]]))
    np.testing.assert_array_equal(y, [[0.0, 1.0, np.nan, 0.5]])


def test_relu_derivative_at_zero_is_zero():
    layer = bp.ReLU()
    layer(np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2))), [[0.0, 1.0]])


def test_errors():
    with pytest.raises(TypeError, match=r"ReLU\(\): expected floating-point input, got int64"):
        bp.ReLU()(np.array([[1, 2]]))
    with pytest.raises(ValueError, match=r"Softmax\(\): backward called before forward"):
        bp.Softmax().backward(np.ones((1, 2)))
    layer = bp.Sigmoid()
    layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Sigmoid\(\): expected gradient of shape \(2, 3\).*got \(3, 2\)"):
        layer.backward(np.zeros((3, 2)))
