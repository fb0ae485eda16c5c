"""Numbers in the tails: every elementwise function, loss and Adam step against exact values.

Each guarantee is a property over extreme inputs (hypothesis), checked against mpmath at 60
significant digits, which runs everywhere, and against PyTorch where it is installed
(``pytest.importorskip``). "ulp" is the spacing of the dtype at the exact value and ``eps`` the
dtype's machine epsilon (``2^-23`` for float32, ``2^-52`` for float64).

The guarantees:

- ``Sigmoid`` forward (the two-branch ``sigmoid_forward``): within 4 ulp over [-87, 87] in
  float32 and 2 ulp over [-700, 700] in float64, down to the smallest normal output.
- ``Sigmoid`` backward ``gy y (1 - y)``: within 6 ulp for x <= 0. For x > 0 only within an
  absolute ``eps``: ``1 - y`` comes from the rounded ``y`` and is 0 from x = 16.64 (float32)
  and 36.74 (float64). A documented limit, PyTorch's too.
- ``Tanh`` forward: within 2 ulp over [-20, 20], tiny inputs included. Backward ``1 - y^2``:
  within an absolute ``2 eps`` only, and 0 from |x| = 10 (float32) or 19 (float64), as PyTorch.
- ``Softmax`` forward: each ``y_i`` within a relative ``k_i eps``, ``k_i = |x_i - m| + log2 C
  + 4`` (``m = max x``: ``e^u`` turns the rounding of ``u = x_i - m`` into a relative error),
  logits up to +-1e4. Backward ``y (g - g . y)``: within ``4 k_i eps y_i (|g_i| + sum_k |g_k|
  y_k)`` absolute (it cancels where ``g_i`` is near ``g . y``, as PyTorch's).
- ``SoftmaxCrossEntropy``, logits up to +-1e4: the value within ``4 eps`` times each sample's
  ``1 + |z_t - m| + log2 C`` (absolute), the gradient within ``4 eps (p_j (|z_j - m| + log2 C
  + 2) + [j = t]) / N`` (absolute: ``p_t - 1`` cancels when ``p_t`` is near 1, as PyTorch's).
- ``CrossEntropy`` on ``p`` in [tiny, 1] and ``BinaryCrossEntropy`` on ``p`` in [tiny, 1 - eps/2]:
  value and gradient within a few ulp (the value relative ``(log2 M + 4) eps``: a float32 sum).
- ``SigmoidBinaryCrossEntropy`` on logits up to +-1e4: the value within 4 ulp; the gradient
  within 4 ulp for 0/1 targets (also where ``sigmoid(z) - 1`` rounds to 0) and within an
  absolute ``2 eps / M`` for targets strictly between.
- ``MSELoss``: the value finite and within ``(M + 4) eps`` (relative, of the dtype's eps; plus
  float64's underflow for squares below 1e-308) whenever the exact value fits in float64, also
  where the float32 squares or float64 sums overflow; the gradient ``2 (O - y) / M`` within
  2 ulp in the outputs' dtype (inf only where it does not fit the dtype).
- ``adam_update``: the first step within 8 ulp for ``|g|`` from 1e-30 to 1e18 (float32) and
  from 1e-300 to 1e150 (float64); the second within ``8 eps`` of the same update made of
  ``|m|`` and ``|g|`` (``m`` cancels when ``g`` changes sign: Adam's own arithmetic). Limit:
  from ``|g| = 5.9e20`` in float32 ``(1 - beta2) g^2`` overflows, ``v`` is inf and the update
  0, then and later, as in PyTorch.

Every PyTorch comparison allows for both sides' error bounds above (and for PyTorch's own
clamps, named in each test).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import backprop as bp
from backprop.layers.activations import (
    sigmoid_backward,
    sigmoid_forward,
    softmax_backward,
    softmax_forward,
    tanh_backward,
)
from backprop.optim import adam_update

# Each property draws 200 extreme inputs and computes their exact values with mpmath at 60
# digits: 0.3 to 2 s a test, half a minute for the module. The few worked cases by hand beside
# them go with it, out of the fast lane.
pytestmark = pytest.mark.slow

F32, F64 = np.float32, np.float64
DTYPES = pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
PROPERTY = settings(max_examples=200, deadline=None)
DIGITS = 60
mpf = mpmath.mpf

# The input ranges: down to the smallest normal sigmoid(x), and well into the saturated tails.
SIGMOID_RANGE = {F32: 87.0, F64: 700.0}
# Below this the first sigmoid'(x) = y (1 - y) > 0 rounds to 0 (1 + e^-x rounds to 1).
SIGMOID_FLAT = {F32: 16.64, F64: 36.74}
TANH_FLAT = {F32: 10.0, F64: 19.0}


def import_torch():
    """PyTorch, or skip; one thread, since its pool costs milliseconds per call on tiny tensors."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def eps(dtype: type) -> float:
    return float(np.finfo(dtype).eps)


def tiny(dtype: type) -> float:
    return float(np.finfo(dtype).tiny)


def floats(dtype: type, low: float, high: float) -> st.SearchStrategy[float]:
    """Finite numbers of ``dtype`` in [low, high] (hypothesis favours the ends and zero)."""
    width = 32 if dtype == F32 else 64
    return st.floats(low, high, width=width, allow_nan=False, allow_infinity=False)


def vectors(dtype: type, low: float, high: float, size: int = 12) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(dtype, st.integers(1, size), elements=floats(dtype, low, high))


def matrices(dtype: type, low: float, high: float, rows: int = 3, columns: int = 6) -> st.SearchStrategy:
    shape = st.tuples(st.integers(1, rows), st.integers(2, columns))
    return hnp.arrays(dtype, shape, elements=floats(dtype, low, high))


def exact(function, *arrays: np.ndarray) -> list:
    """``function`` of the arrays' elements, each as mpmath numbers at DIGITS digits."""
    with mpmath.workdps(DIGITS):
        columns = [[mpf(float(v)) for v in np.ravel(a)] for a in arrays]
        return [function(*values) for values in zip(*columns, strict=True)]


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def mp_sigmoid_derivative(x):
    """``sigma(x) (1 - sigma(x))`` as ``sigma(x) sigma(-x)``: no cancellation even in mpmath."""
    return mp_sigmoid(x) * mp_sigmoid(-x)


def ulps(got: np.ndarray, expected: list, dtype: type) -> np.ndarray:
    """``|got - expected|`` in units of the spacing of ``dtype`` at each expected value."""
    out = []
    largest = np.finfo(dtype).max
    # np.spacing of the largest float is inf (the next one is): use the spacing below it
    top = float(largest) - float(np.nextafter(largest, dtype(0)))
    with mpmath.workdps(DIGITS):
        for g, e in zip(np.ravel(got), expected, strict=True):
            rounded = dtype(min(abs(float(e)), largest))
            spacing = top if rounded == largest else float(np.spacing(rounded))
            out.append(float(abs(mpf(float(g)) - e) / mpf(spacing)))
    return np.array(out)


def spacing_of(values: np.ndarray) -> np.ndarray:
    """``np.spacing(|values|)`` as float64, but the largest float's spacing is the one below it.

    (``np.spacing`` of the largest float is inf, the distance to the next, which is inf.)
    """
    values = np.abs(np.asarray(values))
    largest = np.finfo(values.dtype).max
    with np.errstate(over="ignore"):
        spacing = np.spacing(values)
    return np.where(values == largest, largest - np.nextafter(largest, 0), spacing).astype(F64)


def rounds_to_finite(value, dtype: type) -> bool:
    """Whether the exact ``value`` rounds to a finite number of ``dtype`` (below max + ulp/2)."""
    largest = np.finfo(dtype).max
    half_ulp = (float(largest) - float(np.nextafter(largest, dtype(0)))) / 2
    with mpmath.workdps(DIGITS):
        return abs(value) < mpf(float(largest)) + mpf(half_ulp)


def errors(got: np.ndarray, expected: list) -> np.ndarray:
    """``|got - expected|`` per element, as float64."""
    with mpmath.workdps(DIGITS):
        return np.array([float(abs(mpf(float(g)) - e)) for g, e in zip(np.ravel(got), expected, strict=True)])


def relative(got: float, expected) -> float:
    with mpmath.workdps(DIGITS):
        if expected == 0:
            return abs(got)
        return float(abs(mpf(got) - expected) / abs(expected))


# --- Sigmoid ---------------------------------------------------------------------------------


SIGMOID_ULPS = {F32: 4, F64: 2}


@DTYPES
def test_sigmoid_forward_is_exact_to_a_few_ulp(dtype):
    """Two branches, ``1 / (1 + e)`` and ``e / (1 + e)`` with ``e = e^-|x|``: nothing cancels."""

    @PROPERTY
    @given(vectors(dtype, -SIGMOID_RANGE[dtype], SIGMOID_RANGE[dtype]))
    def check(x):
        y = sigmoid_forward(x)
        assert y.dtype == dtype
        assert ulps(y, exact(mp_sigmoid, x), dtype).max() <= SIGMOID_ULPS[dtype]

    check()


def test_sigmoid_sweep_in_float32_against_float64():
    """Two million float32 inputs over [-87, 87]; float64 is exact enough to count float32 ulp."""
    x = np.concatenate(
        [np.linspace(-87, 87, 1_000_001), np.random.default_rng(0).uniform(-87, 87, 1_000_000)]
    ).astype(F32)
    x64 = x.astype(F64)
    e = np.exp(-np.abs(x64))
    reference = np.where(x64 >= 0, 1, e) / (1 + e)
    spacing = np.spacing(reference.astype(F32)).astype(F64)
    y = sigmoid_forward(x)
    assert (np.abs(y - reference) / spacing).max() <= SIGMOID_ULPS[F32]
    left = x <= 0
    derivative = sigmoid_backward(np.ones_like(y), y)
    exact_derivative = reference * (1 - reference)
    ulp_left = np.abs(derivative[left] - exact_derivative[left]) / spacing[left]
    assert ulp_left.max() <= 6
    # the right tail: an absolute eps, and 0 once 1 + e^-x rounds to 1
    assert np.abs(derivative[~left] - exact_derivative[~left]).max() <= eps(F32)
    assert derivative[x > SIGMOID_FLAT[F32]].max() == 0
    assert derivative[(x > 0) & (x < SIGMOID_FLAT[F32] - 0.01)].min() > 0


@DTYPES
def test_sigmoid_no_longer_cancels_in_the_left_tail(dtype):
    """The one-line ``(1 + tanh(x/2)) / 2`` gave 0 at x = -20 in float32 and from -38 in float64."""
    x = np.array([[-15.0, -20.0, -38.0, -87.0]], dtype)
    layer = bp.Sigmoid()
    y = layer(x)
    assert ulps(y, exact(mp_sigmoid, x), dtype).max() <= SIGMOID_ULPS[dtype]
    assert (y > 0).all()
    # and the unfused BCE with a target 1 is right again: -log sigmoid(-20) = 20.000000002
    # (it was 87.3 in float32), and its gradient sigmoid(z) - 1 = -sigmoid(-z) (it was 0)
    loss = bp.BinaryCrossEntropy("sum")
    value = loss(y[:, :2], np.ones((1, 2), dtype))
    with mpmath.workdps(DIGITS):
        assert relative(value, -mpmath.log(mp_sigmoid(-15)) - mpmath.log(mp_sigmoid(-20))) <= 4 * eps(dtype)
    gradient = layer.backward(np.pad(loss.backward(), ((0, 0), (0, 2))))
    assert ulps(gradient[:, :2], exact(lambda v: -mp_sigmoid(-v), x[:, :2]), dtype).max() <= 8


@DTYPES
def test_sigmoid_backward_left_tail_is_exact_to_a_few_ulp(dtype):
    """``gy y (1 - y)`` for x <= 0, where ``1 - y`` is in [1/2, 1): as exact as ``y``."""

    @PROPERTY
    @given(vectors(dtype, -SIGMOID_RANGE[dtype], 0), st.floats(-1e3, 1e3).filter(lambda g: abs(g) > 1e-3))
    def check(x, g):
        y = sigmoid_forward(x)
        gy = np.full_like(x, g)
        got = sigmoid_backward(gy, y)
        expected = exact(lambda v, w: w * mp_sigmoid_derivative(v), x, gy)
        assert ulps(got, expected, dtype).max() <= 6

    check()


@DTYPES
def test_sigmoid_backward_right_tail_is_only_good_to_eps(dtype):
    """The documented limit (``sigmoid_backward``): for x > 0, ``1 - y`` comes from the rounded ``y``.

    The derivative ``e^-x / (1 + e^-x)^2`` is kept to an absolute ``eps`` only, and it is 0
    from x = 16.64 in float32 (36.74 in float64), where the exact one is still 5.9e-8 (1.1e-16).
    PyTorch's ``sigmoid_backward`` computes the same ``gy (1 - y) y``; the fused
    ``SigmoidBinaryCrossEntropy`` has no such limit.
    """

    @PROPERTY
    @given(vectors(dtype, 0, SIGMOID_RANGE[dtype]))
    def check(x):
        y = sigmoid_forward(x)
        got = sigmoid_backward(np.ones_like(y), y)
        expected = exact(mp_sigmoid_derivative, x)
        assert errors(got, expected).max() <= eps(dtype)
        assert not got[x > SIGMOID_FLAT[dtype]].any()

    check()
    flat = np.array([SIGMOID_FLAT[dtype] + 0.01], dtype)
    assert sigmoid_backward(np.ones_like(flat), sigmoid_forward(flat))[0] == 0
    assert exact(mp_sigmoid_derivative, flat)[0] > 0


@DTYPES
def test_sigmoid_matches_torch(dtype):
    torch = import_torch()

    @PROPERTY
    @given(vectors(dtype, -SIGMOID_RANGE[dtype], SIGMOID_RANGE[dtype]))
    def check(x):
        tx = torch.from_numpy(x.copy()).requires_grad_()
        ty = torch.sigmoid(tx)
        ty.backward(torch.ones_like(ty))
        theirs, their_grad = ty.detach().numpy(), tx.grad.numpy()
        y = sigmoid_forward(x)
        grad = sigmoid_backward(np.ones_like(y), y)
        spacing = np.spacing(np.abs(theirs)).astype(F64)
        # each is within a few ulp of the exact value, so of each other
        assert (np.abs(y.astype(F64) - theirs) / spacing).max() <= 2 * SIGMOID_ULPS[dtype]
        left = x <= 0
        grad_spacing = spacing_of(their_grad[left])
        assert (np.abs(grad[left].astype(F64) - their_grad[left]) / grad_spacing).max(initial=0) <= 12
        assert np.abs(grad[~left].astype(F64) - their_grad[~left]).max(initial=0) <= 2 * eps(dtype)

    check()


# --- Tanh ------------------------------------------------------------------------------------


@DTYPES
def test_tanh_forward_is_exact_to_a_few_ulp(dtype):
    """``np.tanh`` never overflows and keeps tiny inputs (tanh x ~ x) to the last digit."""

    @PROPERTY
    @given(vectors(dtype, -20, 20))
    def check(x):
        y = bp.Tanh()(x)
        assert ulps(y, exact(mpmath.tanh, x), dtype).max() <= 2

    check()


@DTYPES
def test_tanh_backward_is_good_to_an_absolute_eps(dtype):
    """The documented limit (``tanh_backward``): ``1 - y^2`` from the rounded ``y``.

    Good to ``2 eps`` absolute (the derivative is at most 1), not relative: in the tails the
    exact ``1 - tanh(x)^2`` is tiny and the computed one rounds, to 0 from |x| = 10 (float32)
    or 19 (float64). PyTorch's ``tanh_backward`` computes the same ``gy (1 - y^2)``.
    """

    @PROPERTY
    @given(vectors(dtype, -30, 30))
    def check(x):
        layer = bp.Tanh()
        layer(x)
        got = layer.backward(np.ones_like(x))
        expected = exact(lambda v: mpmath.sech(v) ** 2, x)
        assert errors(got, expected).max() <= 2 * eps(dtype)
        assert not got[np.abs(x) >= TANH_FLAT[dtype]].any()

    check()


@DTYPES
def test_tanh_matches_torch(dtype):
    torch = import_torch()

    @PROPERTY
    @given(vectors(dtype, -30, 30))
    def check(x):
        tx = torch.from_numpy(x.copy()).requires_grad_()
        ty = torch.tanh(tx)
        ty.backward(torch.ones_like(ty))
        y = np.tanh(x)
        spacing = np.spacing(np.abs(ty.detach().numpy())).astype(F64)
        assert (np.abs(y - ty.detach().numpy()) / spacing).max() <= 4
        grad = tanh_backward(np.ones_like(y), y)
        assert np.abs(grad.astype(F64) - tx.grad.numpy()).max() <= 4 * eps(dtype)

    check()


# --- Softmax ---------------------------------------------------------------------------------


def mp_softmax(row: list) -> list:
    total = mpmath.fsum(mpmath.exp(v) for v in row)
    return [mpmath.exp(v) / total for v in row]


def exact_softmax(x: np.ndarray) -> list[list]:
    with mpmath.workdps(DIGITS):
        return [mp_softmax([mpf(float(v)) for v in row]) for row in x]


def softmax_bound(x: np.ndarray, dtype: type) -> np.ndarray:
    """The relative error allowed for each ``y_i``: ``(|x_i - m| + log2 C + 4) eps``."""
    m = x.astype(F64).max(axis=1, keepdims=True)
    return (np.abs(x - m) + math.log2(x.shape[1]) + 4) * eps(dtype)


@DTYPES
def test_softmax_forward_is_exact_relative_to_its_conditioning(dtype):
    """``x_i - m`` is rounded to ``|x_i - m| eps / 2`` and ``e^u`` makes that a relative error."""

    @PROPERTY
    @given(matrices(dtype, -1e4, 1e4))
    def check(x):
        y = softmax_forward(x)
        expected = exact_softmax(x)
        error = errors(y, [v for row in expected for v in row]).reshape(x.shape)
        size = np.array([[float(v) for v in row] for row in expected])
        assert (error <= softmax_bound(x, dtype) * size + tiny(dtype)).all()

    check()


@DTYPES
def test_softmax_backward_error_is_bounded_by_its_cancellation(dtype):
    """``y * (g - g . y)`` cancels where ``g_i`` is near ``g . y``: a documented absolute bound."""

    @PROPERTY
    @given(matrices(dtype, -1e4, 1e4), st.integers(0, 2**32 - 1))
    def check(x, seed):
        g = np.random.default_rng(seed).uniform(-1, 1, x.shape).astype(dtype)
        y = softmax_forward(x)
        got = softmax_backward(g, y)
        expected = []
        with mpmath.workdps(DIGITS):
            for row, grow in zip(exact_softmax(x), g, strict=True):
                dot = mpmath.fsum(p * mpf(float(gi)) for p, gi in zip(row, grow, strict=True))
                expected += [p * (mpf(float(gi)) - dot) for p, gi in zip(row, grow, strict=True)]
        y64 = np.array([[float(v) for v in row] for row in exact_softmax(x)])
        scale = y64 * (np.abs(g) + (np.abs(g) * y64).sum(axis=1, keepdims=True))
        bound = 4 * softmax_bound(x, dtype) * scale + tiny(dtype)
        assert (errors(got, expected).reshape(x.shape) <= bound).all()

    check()


@DTYPES
def test_softmax_matches_torch(dtype):
    torch = import_torch()

    @PROPERTY
    @given(matrices(dtype, -1e4, 1e4), st.integers(0, 2**32 - 1))
    def check(x, seed):
        g = np.random.default_rng(seed).uniform(-1, 1, x.shape).astype(dtype)
        tx = torch.from_numpy(x.copy()).requires_grad_()
        ty = torch.softmax(tx, dim=1)
        ty.backward(torch.from_numpy(g))
        y = softmax_forward(x)
        theirs = ty.detach().numpy().astype(F64)
        assert (np.abs(y - theirs) <= 2 * softmax_bound(x, dtype) * theirs + tiny(dtype)).all()
        scale = theirs * (np.abs(g) + (np.abs(g) * theirs).sum(axis=1, keepdims=True))
        bound = 8 * softmax_bound(x, dtype) * scale + tiny(dtype)
        assert (np.abs(softmax_backward(g, y) - tx.grad.numpy()) <= bound).all()

    check()


# --- SoftmaxCrossEntropy and CrossEntropy ----------------------------------------------------


def labels_for(x: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, x.shape[1], len(x))


def exact_softmax_cross_entropy(z: np.ndarray, labels: np.ndarray) -> tuple:
    """The mean loss and the gradient ``(p - t) / N``, at DIGITS digits."""
    n = len(z)
    with mpmath.workdps(DIGITS):
        value, grad = mpf(0), []
        for row, label in zip(z, labels, strict=True):
            values = [mpf(float(v)) for v in row]
            value += mpmath.log(mpmath.fsum(mpmath.exp(v) for v in values)) - values[label]
            grad += [(p - (j == label)) / n for j, p in enumerate(mp_softmax(values))]
        return value / n, grad


@DTYPES
def test_softmax_cross_entropy_value_and_gradient(dtype):
    """Logits up to +-1e4: no overflow, and an error of a few ``eps`` times each sample's scale.

    The gradient ``p_t - 1`` cancels when ``p_t`` is near 1 (a confident right answer): it is
    good to an absolute ``eps``, not a relative one, as PyTorch's ``softmax - one_hot``.
    """

    @PROPERTY
    @given(matrices(dtype, -1e4, 1e4), st.integers(0, 2**32 - 1))
    def check(z, seed):
        labels = labels_for(z, seed)
        loss = bp.SoftmaxCrossEntropy()
        value, grad = loss(z, labels), loss.backward()
        expected, expected_grad = exact_softmax_cross_entropy(z, labels)
        rows = np.arange(len(z))
        m = z.astype(F64).max(axis=1, keepdims=True)
        scale = 1 + np.abs(z[rows, labels] - m[:, 0]) + math.log2(z.shape[1])
        assert errors(np.array([value]), [expected])[0] <= 4 * eps(dtype) * scale.mean()
        p = np.array([float(v) for v in expected_grad]).reshape(z.shape) + np.eye(z.shape[1])[labels] / len(z)
        bound = 4 * eps(dtype) * (p * (np.abs(z - m) + math.log2(z.shape[1]) + 2) + np.eye(z.shape[1])[labels] / len(z))
        assert (errors(grad, expected_grad).reshape(z.shape) <= bound + tiny(dtype)).all()

    check()


@DTYPES
def test_cross_entropy_on_probabilities_is_exact_to_a_few_ulp(dtype):
    """On ``p`` in [tiny, 1] (below ``tiny`` it is clipped): ``-t log p / N`` and ``-t / p / N``."""

    @PROPERTY
    @given(matrices(dtype, tiny(dtype), 1), st.integers(0, 2**32 - 1))
    def check(p, seed):
        labels = labels_for(p, seed)
        loss = bp.CrossEntropy()
        value, grad = loss(p, labels), loss.backward()
        n, rows = len(p), np.arange(len(p))
        expected = exact(lambda v: -mpmath.log(v) / n, p[rows, labels])
        with mpmath.workdps(DIGITS):
            assert relative(value, mpmath.fsum(expected)) <= (math.log2(p.size) + 4) * eps(dtype)
        t = np.eye(p.shape[1])[labels]
        assert ulps(grad, exact(lambda v, w: -w / v / n, p, t), dtype).max() <= 3

    check()


# --- BinaryCrossEntropy and SigmoidBinaryCrossEntropy -----------------------------------------


def targets_for(shape: tuple, seed: int, hard: bool, dtype: type) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 2, shape) if hard else rng.uniform(0, 1, shape)).astype(dtype)


@DTYPES
@pytest.mark.parametrize("hard", [True, False], ids=["0/1 targets", "targets in [0, 1]"])
def test_binary_cross_entropy_on_probabilities_is_exact_to_a_few_ulp(dtype, hard):
    """On ``p`` in [tiny, 1 - eps/2], the range its clip leaves alone: both terms are >= 0."""

    @PROPERTY
    @given(matrices(dtype, tiny(dtype), 1 - float(np.finfo(dtype).epsneg)), st.integers(0, 2**32 - 1))
    def check(p, seed):
        t = targets_for(p.shape, seed, hard, dtype)
        loss = bp.BinaryCrossEntropy()
        value, grad = loss(p, t), loss.backward()
        m = p.size
        terms = exact(lambda v, w: -(w * mpmath.log(v) + (1 - w) * mpmath.log(1 - v)) / m, p, t)
        with mpmath.workdps(DIGITS):
            assert relative(value, mpmath.fsum(terms)) <= (math.log2(m) + 4) * eps(dtype)
        assert ulps(grad, exact(lambda v, w: (v - w) / (v * (1 - v)) / m, p, t), dtype).max() <= 4

    check()


def mp_fused_terms(z, t) -> tuple:
    """``log(1 + e^z) - z t`` and ``sigmoid(z) - t``, written so that mpmath cancels nothing.

    ``log(1 + e^104) - 104`` would keep only 12 of the 60 digits; ``max(z, 0) - z t +
    log(1 + e^-|z|)`` adds two non-negative numbers, and ``(1 - t) sigma(z) - t sigma(-z)``
    has one term for a 0/1 target.
    """
    value = max(z, 0) - z * t + mpmath.log1p(mpmath.exp(-abs(z)))
    return value, (1 - t) * mp_sigmoid(z) - t * mp_sigmoid(-z)


def exact_fused(z: np.ndarray, t: np.ndarray) -> tuple:
    m = z.size
    with mpmath.workdps(DIGITS):
        pairs = exact(mp_fused_terms, z, t)
        return mpmath.fsum(p[0] for p in pairs) / m, [p[1] / m for p in pairs]


@DTYPES
@pytest.mark.parametrize("hard", [True, False], ids=["0/1 targets", "targets in [0, 1]"])
def test_sigmoid_binary_cross_entropy_is_exact_for_logits_up_to_1e4(dtype, hard):
    """``max(z, 0) - z t + log1p(e^-|z|)`` and ``(h - t) - s r``: exact in both tails.

    For 0/1 targets the gradient is exact to a few ulp even where ``sigmoid(z)`` rounds to 1
    (``t = 1``, ``z = 30``: ``-e^-30``, which ``sigmoid(z) - 1`` would make 0). Targets strictly
    between 0 and 1 leave ``sigmoid(z) - t`` to cancel where ``sigmoid(z)`` is near ``t``:
    good to an absolute ``eps / M``, as PyTorch's.
    """

    @PROPERTY
    @given(matrices(dtype, -1e4, 1e4, rows=4, columns=3), st.integers(0, 2**32 - 1))
    def check(z, seed):
        t = targets_for(z.shape, seed, hard, dtype)
        loss = bp.SigmoidBinaryCrossEntropy()
        value, grad = loss(z, t), loss.backward()
        expected, expected_grad = exact_fused(z, t)
        assert math.isfinite(value) and np.isfinite(grad).all() and grad.dtype == dtype
        assert ulps(np.array([value]), [expected], dtype)[0] <= 4
        if hard:
            assert ulps(grad, expected_grad, dtype).max() <= 4
        else:
            assert errors(grad, expected_grad).max() <= 2 * eps(dtype) / z.size

    check()


@DTYPES
def test_fused_loss_in_the_saturated_tails_by_hand(dtype):
    """The numbers that the unfused pair gets wrong: z = -20, 40 and +-1e4 with 0/1 targets."""
    z = np.array([[-20.0], [40.0], [1e4], [-1e4], [1e4]], dtype)
    t = np.array([[1], [1], [1], [1], [0]])
    loss = bp.SigmoidBinaryCrossEntropy("sum")
    value = loss(z, t)
    # 20 + 2.06e-9, e^-40, e^-1e4 (0 in any float), 1e4 + e^-1e4, 1e4
    assert value == pytest.approx(20.000000002061153 + 4.248354255291589e-18 + 1e4 + 1e4, rel=2 * eps(dtype))
    expected = [p[1] for p in exact(mp_fused_terms, z, t.astype(dtype))]
    assert ulps(loss.backward(), expected, dtype).max() <= 4
    assert loss.backward()[1, 0] == pytest.approx(-4.248354255291589e-18, rel=4 * eps(dtype))
    # the unfused pair, for comparison: sigmoid(40) rounds to 1, so L = 0 and dL/dz = 0
    sigmoid, unfused = bp.Sigmoid(), bp.BinaryCrossEntropy("sum")
    assert unfused(sigmoid(z[:2]), t[:2].astype(dtype)) == pytest.approx(20.000000002061153, rel=8 * eps(dtype))
    assert sigmoid.backward(unfused.backward())[1, 0] == 0


# --- MSELoss ---------------------------------------------------------------------------------


MSE_RANGE = {F32: float(np.finfo(F32).max), F64: 1e155}


@DTYPES
def test_mse_value_is_right_whenever_it_fits_in_float64(dtype):
    """Squares added in float64 (float32: 1e20^2 is inf there), redone scaled if even that overflows.

    float32 inputs span the whole finite range: residuals up to 6.8e38 (beyond float32) and
    squares up to 4.6e77, all of which fit in float64. float64 inputs up to 1e155: squares and
    sums overflow, and the value is still right whenever the exact mean is at most 1.8e308
    (inf otherwise). The gradient ``2 (O - y) / M`` is within 2 ulp in the outputs' dtype, or
    inf where it does not fit the dtype.
    """

    @PROPERTY
    @given(matrices(dtype, -MSE_RANGE[dtype], MSE_RANGE[dtype]), st.integers(0, 2**32 - 1))
    def check(o, seed):
        y = np.random.default_rng(seed).permutation(o.ravel()).reshape(o.shape)  # same magnitudes
        loss = bp.MSELoss()
        with np.errstate(over="ignore"):
            value = loss(o, y)
        grad = loss.backward()
        m = o.size
        with mpmath.workdps(DIGITS):
            expected = mpmath.fsum(exact(lambda a, b: (a - b) ** 2, o, y)) / m
            if expected > np.finfo(F64).max:
                assert value == math.inf
            else:
                # relative, and (float64) squares below the smallest normal number round
                error = float(abs(mpf(value) - expected))
                assert error <= (m + 4) * eps(dtype) * float(expected) + m * 2.0**-1074
            expected_grad = exact(lambda a, b: 2 * (a - b) / m, o, y)
            fits = np.array([rounds_to_finite(g, dtype) for g in expected_grad])
        assert ulps(grad.ravel()[fits], [g for g, f in zip(expected_grad, fits, strict=True) if f], dtype).max(
            initial=0
        ) <= 2
        assert np.isinf(grad.ravel()[~fits]).all()

    check()


def test_mse_overflows_by_hand():
    """The cases named in the docstring, with their exact values."""
    loss = bp.MSELoss()
    assert loss(np.array([[1e20, 0.0]], F32), np.zeros((1, 2), F32)) == pytest.approx(1e40 / 2, rel=1e-7)
    np.testing.assert_allclose(loss.backward(), [[1e20, 0.0]], rtol=1e-7)
    # a float32 residual beyond float32: 3e38 - (-3e38) = 6e38, squared 3.6e77 (both elements)
    big = np.array([[3e38], [-3e38], [1.0], [0.0]], F32)
    with np.errstate(over="ignore"):
        assert loss(big, -big) == pytest.approx(2 * 36e76 / 4, rel=1e-7)
    # the gradient 2 (O - y) / M: 3e38 fits in float32 though O - y does not
    np.testing.assert_allclose(loss.backward().ravel(), [3e38, -3e38, 1.0, 0.0], rtol=1e-7)
    # float64: every square 2.25e308 and their sum overflow; the mean 2.25e308 fits
    o = np.full((4, 1), 1.5e154)
    assert loss(o, np.zeros_like(o)) == pytest.approx(2.25e308, rel=1e-15)
    np.testing.assert_allclose(loss.backward(), 2 * o / 4, rtol=1e-15)
    with np.errstate(over="ignore"):
        assert loss(np.array([[1e155]]), np.zeros((1, 1))) == math.inf  # the exact 1e310 does not fit


# --- Adam ------------------------------------------------------------------------------------


ADAM_EXPONENTS = {F32: (-30, 18), F64: (-300, 150)}
LR, BETAS, ADAM_EPS = 1e-3, (0.9, 0.999), 1e-8


def gradients(dtype: type) -> st.SearchStrategy[np.ndarray]:
    """Vectors ``+-10^u`` with ``u`` uniform over the exponents of ``ADAM_EXPONENTS``."""
    low, high = ADAM_EXPONENTS[dtype]
    exponents = hnp.arrays(F64, st.integers(1, 8), elements=st.floats(low, high))
    return st.tuples(exponents, st.integers(0, 2**32 - 1)).map(
        lambda pair: (np.random.default_rng(pair[1]).choice([-1, 1], len(pair[0])) * 10.0 ** pair[0]).astype(dtype)
    )


def adam_steps(g1: np.ndarray, g2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Our two updates from ``w = 0`` (so ``-w`` is the update itself, unrounded by a sum), m and v."""
    m, v, buf = np.zeros_like(g1), np.zeros_like(g1), np.empty_like(g1)
    updates = []
    for t, g in ((1, g1), (2, g2)):
        w = np.zeros_like(g1)
        adam_update(w, g, m, v, buf, None, t, LR, *BETAS, ADAM_EPS)
        updates.append(-w)
    return updates[0], updates[1], m, v


def exact_adam(g1: np.ndarray, g2: np.ndarray) -> tuple[list, list, np.ndarray]:
    """Both exact updates, and the second one's scale: the same with ``|m|`` for ``m``."""
    b1, b2, lr, e = (mpf(value) for value in (*BETAS, LR, ADAM_EPS))

    def update(a, b):
        m1, v1 = (1 - b1) * a, (1 - b2) * a * a
        m2, v2 = b1 * m1 + (1 - b1) * b, b2 * v1 + (1 - b2) * b * b
        first = lr * (m1 / (1 - b1)) / (mpmath.sqrt(v1 / (1 - b2)) + e)
        denominator = (1 - b1**2) * (mpmath.sqrt(v2 / (1 - b2**2)) + e)
        second = lr * m2 / denominator
        scale = lr * (b1 * abs(m1) + (1 - b1) * abs(b)) / denominator
        return first, second, scale

    triples = exact(update, g1, g2)
    return [p[0] for p in triples], [p[1] for p in triples], np.array([float(p[2]) for p in triples])


@DTYPES
def test_adam_step_is_exact_over_the_whole_range_of_gradients(dtype):
    """|g| from 1e-30 to 1e18 (float32), 1e-300 to 1e150 (float64): the first step within 8 ulp.

    ``g^2`` underflows for the smallest (harmless: ``eps`` is the denominator there) and is
    never formed for the largest: ``(sqrt(1 - beta2) g)^2`` overflows only with ``v`` itself.
    The second step's ``m = beta1 m + (1 - beta1) g`` cancels when ``g`` changes sign (Adam's
    own arithmetic, PyTorch's too): it is within ``8 eps`` of the same update computed with
    ``|m|`` and ``|g|``, which is 8 ulp when nothing cancels.
    """

    @PROPERTY
    @given(gradients(dtype), st.integers(0, 2**32 - 1))
    def check(g1, seed):
        g2 = np.random.default_rng(seed).permutation(g1)
        first, second, _, _ = adam_steps(g1, g2)
        expected_first, expected_second, scale = exact_adam(g1, g2)
        assert ulps(first, expected_first, dtype).max() <= 8
        assert (errors(second, expected_second) <= 8 * eps(dtype) * scale).all()

    check()


def test_adam_second_moment_overflow_is_a_documented_limit():
    """Float32, ``beta2 = 0.999``: ``v = 0.001 g^2`` fits up to ``|g| = 5.8e20``.

    At 1e20 the step is ``-lr sign(g)`` (forming ``g^2`` first, 1e40, would have made ``v`` inf
    and the step 0). From 5.9e20 ``v`` is inf: the update is 0 and stays 0, since ``v`` stays
    inf; PyTorch's Adam does the same (``test_adam_matches_torch``).
    """
    for g, expected in ((1e20, -LR), (5.8e20, -LR), (5.9e20, 0.0)):
        w, m, v, buf = (np.zeros(1, F32) for _ in range(4))
        with np.errstate(over="ignore"):
            adam_update(w, np.array([g], F32), m, v, buf, None, 1, LR, *BETAS, ADAM_EPS)
        assert w[0] == pytest.approx(expected, rel=4 * eps(F32))
        assert np.isinf(v[0]) == (expected == 0)
    adam_update(w, np.array([1.0], F32), m, v, buf, None, 2, LR, *BETAS, ADAM_EPS)
    assert w[0] == 0 and np.isinf(v[0])


# --- the losses and Adam against PyTorch -----------------------------------------------------


def torch_value_and_grad(torch, function, outputs: np.ndarray, *args) -> tuple[float, np.ndarray]:
    """``function(tensor, *args)`` and its gradient with respect to the tensor of ``outputs``."""
    tensor = torch.from_numpy(outputs.copy()).requires_grad_()
    value = function(tensor, *args)
    value.backward()
    return float(value.detach()), tensor.grad.numpy()


@DTYPES
def test_softmax_cross_entropy_matches_torch(dtype):
    torch = import_torch()

    @PROPERTY
    @given(matrices(dtype, -1e4, 1e4), st.integers(0, 2**32 - 1))
    def check(z, seed):
        labels = labels_for(z, seed)
        loss = bp.SoftmaxCrossEntropy()
        value = loss(z, labels)
        theirs, their_grad = torch_value_and_grad(
            torch, torch.nn.functional.cross_entropy, z, torch.from_numpy(labels)
        )
        m = z.astype(F64).max(axis=1)
        scale = 1 + np.abs(z[np.arange(len(z)), labels] - m) + math.log2(z.shape[1])
        assert abs(value - theirs) <= 8 * eps(dtype) * scale.mean()
        assert np.abs(loss.backward() - their_grad).max() <= 8 * eps(dtype) * (math.log2(z.shape[1]) + 2)

    check()


@DTYPES
def test_cross_entropy_matches_torch(dtype):
    torch = import_torch()

    @PROPERTY
    @given(matrices(dtype, tiny(dtype), 1), st.integers(0, 2**32 - 1))
    def check(p, seed):
        labels = labels_for(p, seed)
        t = np.eye(p.shape[1], dtype=dtype)[labels]
        loss = bp.CrossEntropy()
        value = loss(p, labels)
        theirs, their_grad = torch_value_and_grad(
            torch, lambda q: -(torch.from_numpy(t) * torch.log(q)).sum() / len(p), p
        )
        assert abs(value - theirs) <= 2 * (math.log2(p.size) + 4) * eps(dtype) * abs(theirs)
        spacing = spacing_of(their_grad)
        assert (np.abs(loss.backward() - their_grad) / spacing).max() <= 6

    check()


@DTYPES
def test_binary_cross_entropy_matches_torch(dtype):
    """Where PyTorch's ``BCELoss`` does not clamp: ``p (1 - p) >= 1e-12``, ``log p >= -100``."""
    torch = import_torch()

    low, high = float(dtype(1e-11)), float(dtype(1 - max(float(np.finfo(dtype).epsneg), 1e-11)))

    @PROPERTY
    @given(matrices(dtype, low, high), st.integers(0, 2**32 - 1))
    def check(p, seed):
        t = targets_for(p.shape, seed, False, dtype)
        loss = bp.BinaryCrossEntropy()
        value = loss(p, t)
        theirs, their_grad = torch_value_and_grad(
            torch, torch.nn.functional.binary_cross_entropy, p, torch.from_numpy(t)
        )
        assert abs(value - theirs) <= 2 * (math.log2(p.size) + 4) * eps(dtype) * abs(theirs)
        spacing = spacing_of(their_grad)
        assert (np.abs(loss.backward() - their_grad) / spacing).max() <= 8

    check()


@DTYPES
@pytest.mark.parametrize("hard", [True, False], ids=["0/1 targets", "targets in [0, 1]"])
def test_sigmoid_binary_cross_entropy_matches_torch(dtype, hard):
    """PyTorch's ``binary_cross_entropy_with_logits``: the same value and gradient.

    Its ``(1 - t) z + max(-z, 0) + log(...)`` cancels to an absolute ``eps |z|`` for a target
    between 0 and 1, and its ``sigmoid(z) - t`` to an absolute ``eps`` (0 at ``t = 1``,
    ``z = 30`` in float32, where ours is ``-e^-30``): the bounds allow for both.
    """
    torch = import_torch()

    @PROPERTY
    @given(matrices(dtype, -1e4, 1e4, rows=4, columns=3), st.integers(0, 2**32 - 1))
    def check(z, seed):
        t = targets_for(z.shape, seed, hard, dtype)
        loss = bp.SigmoidBinaryCrossEntropy()
        value = loss(z, t)
        theirs, their_grad = torch_value_and_grad(
            torch, torch.nn.functional.binary_cross_entropy_with_logits, z, torch.from_numpy(t)
        )
        assert abs(value - theirs) <= 4 * eps(dtype) * (np.abs(z).mean() + 1)
        assert np.abs(loss.backward() - their_grad).max() <= 2 * eps(dtype) / z.size

    check()


@DTYPES
def test_mse_matches_torch_where_torch_is_finite(dtype):
    """Equal where PyTorch's value is finite; where its float32 squares overflow to inf, ours is not."""
    torch = import_torch()

    @PROPERTY
    @given(matrices(dtype, -MSE_RANGE[dtype], MSE_RANGE[dtype]), st.integers(0, 2**32 - 1))
    def check(o, seed):
        y = np.random.default_rng(seed).permutation(o.ravel()).reshape(o.shape)
        loss = bp.MSELoss()
        with np.errstate(over="ignore"):
            value = loss(o, y)
        theirs, their_grad = torch_value_and_grad(torch, torch.nn.functional.mse_loss, o, torch.from_numpy(y))
        if math.isfinite(theirs):
            # PyTorch's float32 squares also underflow where ours, in float64, do not
            underflow = 2.0**-149 if dtype == F32 else 2.0**-1074
            assert abs(value - theirs) <= 2 * (o.size + 4) * eps(dtype) * theirs + o.size * underflow
        elif dtype == F32:
            assert math.isfinite(value)  # the exact value always fits in float64
        finite = np.isfinite(their_grad)
        spacing = spacing_of(their_grad[finite])
        assert (np.abs(loss.backward()[finite] - their_grad[finite]) / spacing).max(initial=0) <= 4

    check()


@DTYPES
def test_adam_matches_torch(dtype):
    """The first step and both moments after two steps, over the whole range of gradients.

    PyTorch forms ``((1 - beta2) g) g``, so its ``v`` overflows where ours does (5.8e20 in
    float32); and its ``1 - beta2**t`` cancels to 1e-13 in float64, well inside the bound.
    """
    torch = import_torch()

    @PROPERTY
    @given(gradients(dtype), st.integers(0, 2**32 - 1))
    def check(g1, seed):
        g2 = np.random.default_rng(seed).permutation(g1)
        first, _, m, v = adam_steps(g1, g2)
        w = torch.zeros(len(g1), dtype=torch.from_numpy(g1).dtype, requires_grad=True)
        optimizer = torch.optim.Adam([w], lr=LR, betas=BETAS, eps=ADAM_EPS)
        for step, g in enumerate((g1, g2)):
            w.grad = torch.from_numpy(g.copy())
            optimizer.step()
            if step == 0:
                theirs = -w.detach().numpy().copy()
        assert (np.abs(first - theirs) / np.spacing(np.abs(theirs)).astype(F64)).max() <= 16
        state = optimizer.state[w]
        for ours, their in ((m, state["exp_avg"]), (v, state["exp_avg_sq"])):
            their = their.numpy()
            scale = np.spacing(np.maximum(np.abs(their), tiny(dtype))).astype(F64)
            # m cancels where g changes sign: allow eps times the magnitudes it came from
            bound = 8 + eps(dtype) * (np.abs(g1) + np.abs(g2)) / scale
            assert (np.abs(ours - their) / scale <= bound).all()

    check()

    # the documented limit, side by side: v overflows from |g| = 5.9e20 in float32
    if dtype == F32:
        w = torch.zeros(2, dtype=torch.float32, requires_grad=True)
        optimizer = torch.optim.Adam([w], lr=LR, betas=BETAS, eps=ADAM_EPS)
        w.grad = torch.tensor([1e20, 5.9e20])
        optimizer.step()
        np.testing.assert_allclose(w.detach().numpy(), [-LR, 0.0], rtol=4 * eps(F32))
        assert torch.isinf(optimizer.state[w]["exp_avg_sq"][1])
