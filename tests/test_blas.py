"""NumPy's own BLAS axpy, axpby and GEMM (``backprop.blas``): found at run time, exact enough, a NumPy fallback.

The SGD update uses them where they exist; both paths are run here, on any machine: the
fallback by hiding the BLAS functions.
"""

import numpy as np
import pytest

import backprop as bp
from backprop import blas


@pytest.fixture
def without_blas(monkeypatch):
    monkeypatch.setattr(blas, "_found", None)


def test_numpy_wheels_bring_the_ilp64_axpy_axpby_and_gemm():
    if blas._numpy_openblas() is None:
        pytest.skip("this NumPy does not use a bundled OpenBLAS: the NumPy fallback is the path")
    found = blas.routines()
    assert found is not None and set(found) == {"axpy", "axpby", "gemm"}
    for functions in found.values():
        assert set(functions) == {np.dtype(np.float32), np.dtype(np.float64)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_adds_alpha_x_in_place(dtype):
    if blas.routines() is None:
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpby_is_a_moving_average_in_place(dtype):
    if blas.routines() is None:
        pytest.skip("no BLAS axpby here; the optimisers' NumPy passes cover this machine")
    rng = np.random.default_rng(1)
    n = blas.AXPY_MIN_SIZE
    x, y = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    a, b = dtype(0.1) * x, dtype(0.9) * y
    expected, scale = a + b, np.abs(a) + np.abs(b)
    assert blas.axpby(0.1, x, 0.9, y)
    assert np.all(np.abs(y - expected) <= 2 * np.finfo(dtype).eps * scale)
    small = np.ones(100, dtype)
    assert not blas.axpby(1.0, small, 0.5, small.copy())  # small: the NumPy passes are cheaper


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
    for found in (blas.routines(), None):
        monkeypatch.setattr(blas, "_found", found)
        model = bp.Linear(200, 100, dtype=np.float64, rng=0)
        before, before_bias = model.weight.copy(), model.bias.copy()
        g = np.arange(20_000.0).reshape(100, 200) / 20_000
        model.grads["weight"][...] = g
        model.grads["bias"][...] = 1.0
        bp.SGD(model, 0.5).step()
        np.testing.assert_allclose(model.weight, before - 0.5 * g, rtol=0, atol=1e-15)
        np.testing.assert_allclose(model.bias, before_bias - 0.5, rtol=0, atol=1e-15)  # the NumPy passes


needs_blas = pytest.mark.skipif(blas.routines() is None, reason="no BLAS GEMM here; the fallback tests cover it")


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a", [True, False])
def test_gemm_computes_alpha_a_b_plus_beta_c_in_place(dtype, transpose_a):
    rng = np.random.default_rng(0)
    m, k, n = 5, 7, 3
    a = rng.standard_normal((k, m) if transpose_a else (m, k)).astype(dtype)
    b, c = rng.standard_normal((k, n)).astype(dtype), rng.standard_normal((m, n)).astype(dtype)
    op_a = a.T if transpose_a else a
    expected = -0.5 * (op_a.astype(np.float64) @ b) + 0.25 * c
    target = c
    assert blas.gemm(-0.5, a, b, 0.25, c, transpose_a=transpose_a)
    assert c is target
    np.testing.assert_allclose(c, expected, rtol=0, atol=20 * np.finfo(dtype).eps)


@needs_blas
def test_gemm_takes_one_sample_as_an_outer_product():
    gy, x, w = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0, 5.0]]), np.ones((2, 3))
    assert blas.gemm(-1.0, gy, x, 1.0, w, transpose_a=True)
    np.testing.assert_array_equal(w, 1.0 - np.outer(gy, x))


def test_gemm_declines_what_blas_cannot_take_and_leaves_c_alone():
    a, b, c = np.ones((4, 3)), np.ones((4, 2)), np.zeros((3, 2))  # a^T b fits c
    cases = [
        (a.astype(np.float32), b, c),  # dtypes differ
        (a, b, c.astype(np.int64)),  # not floating point
        (a, b, np.zeros((2, 3))),  # c's shape is not op(a) b's
        (a, np.ones((5, 2)), c),  # inner sizes differ
        (np.ones((4, 6))[:, ::2], b, c),  # a not contiguous
        (a, b, np.zeros((3, 4))[:, ::2]),  # c not contiguous
        (np.ones((0, 3)), np.ones((0, 2)), c),  # empty inner size
        (a, b, np.zeros((1, 3, 2))),  # not 2-D
    ]
    for a_, b_, c_ in cases:
        before = c_.copy()
        assert not blas.gemm(1.0, a_, b_, 1.0, c_, transpose_a=True)
        np.testing.assert_array_equal(c_, before)
    shared = np.zeros((4, 4))
    assert not blas.gemm(1.0, shared, np.ones((4, 4)), 1.0, shared, transpose_a=True)  # c overlaps a
    np.testing.assert_array_equal(shared, 0)


def test_gemm_without_blas_returns_false(without_blas):
    c = np.zeros((3, 2))
    assert not blas.gemm(1.0, np.ones((4, 3)), np.ones((4, 2)), 1.0, c, transpose_a=True)
    np.testing.assert_array_equal(c, 0)


def test_threads_reads_the_count_the_user_set_at_run_time():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        assert blas.threads() == 1
    assert blas.threads() >= 1


def test_a_convolution_block_is_its_size_per_blas_thread(monkeypatch):
    from backprop.layers import conv

    monkeypatch.setattr(conv.blas, "threads", lambda: 1)
    one = conv._block_size(196, 288 * 4)
    monkeypatch.setattr(conv.blas, "threads", lambda: 4)
    assert one == conv.BLOCK_BYTES // (196 * 288 * 4) == 2
    assert conv._block_size(196, 288 * 4) == 4 * conv.BLOCK_BYTES // (196 * 288 * 4) == 9
