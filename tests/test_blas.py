"""NumPy's own BLAS axpy (``backprop.blas``): found at run time, exact enough, and a NumPy fallback.

The SGD update uses it where it exists; both paths are run here, on any machine: the
fallback by hiding the BLAS functions.
"""

import numpy as np
import pytest

import backprop as bp
from backprop import blas


@pytest.fixture
def without_blas(monkeypatch):
    monkeypatch.setattr(blas, "_found", None)


def test_numpy_wheels_bring_the_ilp64_axpy():
    if blas._numpy_openblas() is None:
        pytest.skip("this NumPy does not use a bundled OpenBLAS: the NumPy fallback is the path")
    functions = blas.axpy_functions()
    assert functions is not None and set(functions) == {np.dtype(np.float32), np.dtype(np.float64)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_adds_alpha_x_in_place(dtype):
    if blas.axpy_functions() is None:
        pytest.skip("no BLAS axpy here; test_sgd_update_falls_back_to_numpy covers this machine")
    rng = np.random.default_rng(0)
    n = blas.AXPY_MIN_SIZE
    x, y = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    scaled = dtype(-0.1) * x
    expected, scale = y + scaled, np.abs(y) + np.abs(scaled)
    assert blas.axpy(-0.1, x, y)
    # One rounding (fused) or two: apart by at most the rounding errors of the operands.
    assert np.all(np.abs(y - expected) <= 2 * np.finfo(dtype).eps * scale)
    assert not np.array_equal(y, np.zeros_like(y))


def test_axpy_declines_what_blas_cannot_take_and_leaves_y_alone():
    n = blas.AXPY_MIN_SIZE
    f32 = np.ones(n, np.float32)
    cases = [
        (f32, np.zeros(n, np.float64)),  # dtypes differ
        (f32[: n // 2], np.zeros(n, np.float32)),  # sizes differ
        (f32, np.zeros(2 * n, np.float32)[::2]),  # y not contiguous
        (np.ones(2 * n, np.float32)[::2], np.zeros(n, np.float32)),  # x not contiguous
        (np.ones(n, np.int64), np.zeros(n, np.int64)),  # not floating point
        (f32[:100], np.zeros(100, np.float32)),  # small: the NumPy passes are cheaper than the call
    ]
    for x, y in cases:
        before = y.copy()
        assert not blas.axpy(2.0, x, y)
        np.testing.assert_array_equal(y, before)


def test_axpy_without_blas_returns_false(without_blas):
    y = np.zeros(blas.AXPY_MIN_SIZE, np.float32)
    assert not blas.axpy(1.0, np.ones(blas.AXPY_MIN_SIZE, np.float32), y)
    np.testing.assert_array_equal(y, 0)


def _trained(momentum=0.0, weight_decay=0.0):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((64, 200)).astype(np.float32), rng.integers(0, 3, 64)
    # 200 x 100 = 20,000 weights: over AXPY_MIN_SIZE, so the first layer takes the BLAS path
    model = bp.Sequential(bp.Linear(200, 100, rng=2), bp.ReLU(), bp.Linear(100, 3, rng=3))
    optimizer = bp.SGD(model, 0.1, momentum=momentum, weight_decay=weight_decay)
    bp.fit(model, bp.SoftmaxCrossEntropy(), optimizer, x, y, epochs=3, batch_size=16, progress=False)
    return model.params


@pytest.mark.parametrize(("momentum", "weight_decay"), [(0.0, 0.0), (0.9, 0.0), (0.0, 1e-3)])
def test_sgd_update_falls_back_to_numpy(momentum, weight_decay, monkeypatch):
    with_blas = _trained(momentum, weight_decay)
    again = _trained(momentum, weight_decay)
    for name, value in with_blas.items():  # the same seed, the same path: the same bits
        np.testing.assert_array_equal(value, again[name], err_msg=name)
    monkeypatch.setattr(blas, "_found", None)
    with_numpy = _trained(momentum, weight_decay)
    for name, value in with_blas.items():  # the other path: equal up to the rounding of w - eta g
        np.testing.assert_allclose(value, with_numpy[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_plain_sgd_step_is_w_minus_lr_g_on_both_paths(monkeypatch):
    for found in (blas.axpy_functions(), None):
        monkeypatch.setattr(blas, "_found", found)
        model = bp.Linear(200, 100, dtype=np.float64, rng=0)
        before, before_bias = model.weight.copy(), model.bias.copy()
        g = np.arange(20_000.0).reshape(100, 200) / 20_000
        model.grads["weight"][...] = g
        model.grads["bias"][...] = 1.0
        bp.SGD(model, 0.5).step()
        np.testing.assert_allclose(model.weight, before - 0.5 * g, rtol=0, atol=1e-15)
        np.testing.assert_allclose(model.bias, before_bias - 0.5, rtol=0, atol=1e-15)  # the NumPy passes
