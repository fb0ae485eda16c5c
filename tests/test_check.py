import numpy as np
import pytest

import backprop as bp

F64 = np.float64


class WrongSigmoid(bp.Sigmoid):
    """A deliberately wrong derivative (y instead of y (1 - y)) that gradcheck must catch."""

    def _backward(self, gy, y):
        return gy * y


class WrongLinear(bp.Linear):
    """Right input gradient, weight gradient off by a factor of two."""

    def backward(self, gy):
        gx = super().backward(gy)
        self.grads["weight"] *= 2
        return gx


def test_wrong_input_gradient_fails_loudly():
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(bp.GradcheckError, match=r"gradcheck WrongSigmoid\(\)(.|\n)*input .*FAIL"):
        bp.gradcheck(WrongSigmoid(), x)


def test_wrong_parameter_gradient_is_named():
    rng = np.random.default_rng(1)
    result = bp.gradcheck(
        WrongLinear(4, 3, dtype=F64, rng=rng), rng.standard_normal((2, 4)), raise_on_failure=False
    )
    assert result.failures() == ["weight"]
    assert not result.passed
    assert result.relative_errors["weight"] > 0.1 and result.relative_errors["input"] < 1e-6
    assert "weight" in str(result) and "FAIL" in str(result)


def test_gradcheck_leaves_parameters_unchanged():
    rng = np.random.default_rng(2)
    layer = bp.Linear(4, 3, dtype=F64, rng=rng)
    before = layer.weight.copy()
    bp.gradcheck(layer, rng.standard_normal((2, 4)))
    np.testing.assert_array_equal(layer.weight, before)


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="expected a float64 input, got float32"):
        bp.gradcheck(bp.ReLU(), np.ones((2, 2), np.float32))
    with pytest.raises(TypeError, match=r"Linear\(2 -> 2\) parameter weight is float32"):
        bp.gradcheck(bp.Linear(2, 2), np.ones((2, 2)))


def test_loss_needs_targets():
    with pytest.raises(ValueError, match="needs targets"):
        bp.gradcheck(bp.MSELoss(), np.ones((2, 2)))


def test_jacobian_of_linear_is_block_diagonal_with_w():
    rng = np.random.default_rng(3)
    layer = bp.Linear(3, 2, dtype=F64, rng=rng)
    jac = bp.jacobian(layer, rng.standard_normal((2, 3)))
    assert jac.shape == (4, 6)
    np.testing.assert_array_equal(jac[:2, :3], layer.weight)
    np.testing.assert_array_equal(jac[2:, 3:], layer.weight)
    assert not jac[:2, 3:].any() and not jac[2:, :3].any()


def test_jacobian_matches_finite_differences_of_a_model():
    rng = np.random.default_rng(4)
    model = bp.Sequential(bp.Linear(3, 4, dtype=F64, rng=rng), bp.Tanh(), bp.Linear(4, 2, dtype=F64, rng=rng))
    x = rng.standard_normal((1, 3))
    jac = bp.jacobian(model, x)
    h = 1e-6
    for j in range(3):
        step = np.zeros_like(x)
        step[0, j] = h
        column = (model(x + step) - model(x - step)).ravel() / (2 * h)
        np.testing.assert_allclose(jac[:, j], column, rtol=1e-7, atol=1e-10)


def test_jacobian_rejects_losses():
    with pytest.raises(TypeError, match="expected a layer or model, got MSELoss"):
        bp.jacobian(bp.MSELoss(), np.ones((1, 1)))


def test_the_public_helpers_that_explain_shares():
    from backprop.check import ATOL, RTOL, central_difference, passes, random_direction, random_rewind

    w = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    v = random_direction(np.random.default_rng(0), w.shape)
    assert v.dtype == F64 and np.linalg.norm(v) == pytest.approx(1.0)
    before = w.copy()
    # L = sum(w^2) is quadratic, so the central difference is exact up to rounding: <2w, v>
    numeric = central_difference(lambda: float(np.sum(w.astype(F64) ** 2)), w, v, 1e-3)
    assert numeric == pytest.approx(float(np.sum(2 * before * v)), rel=1e-3)
    np.testing.assert_array_equal(w, before)  # restored exactly
    assert passes(RTOL, 1.0) and passes(1.0, ATOL) and not passes(2 * RTOL, 2 * ATOL)
    dropout = bp.Sequential(bp.Dropout(0.5, rng=1))
    rewind = random_rewind(dropout)
    first = dropout(np.ones((4, 8)))
    assert not np.array_equal(dropout(np.ones((4, 8))), first)  # a new mask each pass...
    rewind()
    np.testing.assert_array_equal(dropout(np.ones((4, 8))), first)  # ...unless rewound
