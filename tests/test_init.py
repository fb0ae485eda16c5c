import math

import numpy as np
import pytest

import backprop as bp


def big(shape=(400, 300)):
    return np.empty(shape, np.float64)


def test_fans():
    assert bp.init.calculate_fans((256, 784)) == (784, 256)
    assert bp.init.calculate_fans((32, 3, 5, 5)) == (75, 800)
    assert bp.init.calculate_fans((10,)) == (10, 10)


def test_constant_and_zeros():
    np.testing.assert_array_equal(bp.init.constant(big((2, 2)), 0.5), 0.5)
    np.testing.assert_array_equal(bp.init.zeros(big((2, 2))), 0.0)


@pytest.mark.parametrize(
    ("initialiser", "expected_std", "bound"),
    [
        (lambda w: bp.init.uniform(w, -2, 2, rng=0), 4 / math.sqrt(12), 2),
        (lambda w: bp.init.normal(w, 0, 0.3, rng=0), 0.3, None),
        (lambda w: bp.init.xavier_uniform(w, rng=0), math.sqrt(2 / 700), math.sqrt(6 / 700)),
        (lambda w: bp.init.xavier_normal(w, rng=0), math.sqrt(2 / 700), None),
        (lambda w: bp.init.kaiming_uniform(w, rng=0), math.sqrt(2 / 300), math.sqrt(6 / 300)),
        (lambda w: bp.init.kaiming_normal(w, rng=0), math.sqrt(2 / 300), None),
        (lambda w: bp.init.kaiming_normal(w, mode="fan_out", rng=0), math.sqrt(2 / 400), None),
    ],
)
def test_statistics_follow_the_formulas(initialiser, expected_std, bound):
    w = initialiser(big())  # shape (400, 300): fan_in 300, fan_out 400
    assert abs(w.mean()) < 0.02 * expected_std * 10
    assert w.std() == pytest.approx(expected_std, rel=0.02)
    if bound is not None:
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


def test_seeded_and_in_place():
    w = np.empty((3, 3), np.float32)
    out = bp.init.xavier_uniform(w, rng=5)
    assert out is w and w.dtype == np.float32
    np.testing.assert_array_equal(w, bp.init.xavier_uniform(np.empty((3, 3), np.float32), rng=5))


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan'"):
        bp.init.kaiming_normal(big((2, 2)), mode="fan")
    with pytest.raises(ValueError, match="cannot compute fans of a scalar"):
        bp.init.xavier_uniform(np.empty(()))
    with pytest.raises(TypeError, match=r"rng must be None, an int seed or a numpy\.random\.Generator"):
        bp.init.normal(big((2, 2)), rng="seed")
