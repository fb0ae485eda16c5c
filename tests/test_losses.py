import math

import numpy as np
import pytest

import backprop as bp

F64 = np.float64


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_softmax_cross_entropy_by_hand():
    # p = softmax([0, ln 3]) = [1/4, 3/4]; label 1 -> -ln(3/4); label 0 -> -ln(1/4)
    z = np.array([[0.0, math.log(3)], [0.0, math.log(3)]])
    loss = bp.SoftmaxCrossEntropy()
    assert loss(z, np.array([1, 0])) == pytest.approx((-math.log(0.75) - math.log(0.25)) / 2, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[0.25 / 2, -0.25 / 2], [-0.75 / 2, 0.75 / 2]], rtol=1e-14)
    total = bp.SoftmaxCrossEntropy("sum")
    assert total(z, np.array([1, 0])) == pytest.approx(-math.log(0.75) - math.log(0.25), rel=1e-14)
    np.testing.assert_allclose(total.backward(), [[0.25, -0.25], [-0.75, 0.75]], rtol=1e-14)


def test_seed_002_softmax_example_before_and_after_one_step():
    """Seed 002: x = [8, 7], t = [0, 0, 1], W = 0.5, b = 1, learning rate 1."""
    layer = bp.Linear(2, 3, dtype=F64)
    bp.init.constant(layer.weight, 0.5)
    bp.init.constant(layer.bias, 1.0)
    x, t = np.array([[8.0, 7.0]]), np.array([2])
    loss = bp.SoftmaxCrossEntropy()
    assert loss(layer(x), t) == pytest.approx(math.log(3), abs=1e-10)
    # The seed's "Current loss: 1.9095425" sums per-class binary cross-entropies.
    assert bp.BinaryCrossEntropy("sum")(softmax(layer(x)), np.array([[0.0, 0.0, 1.0]])) == pytest.approx(
        1.9095425, abs=5e-8
    )
    layer.backward(loss.backward())
    for name in layer.params:
        layer.params[name] -= 1.0 * layer.grads[name]
    # the seed prints W in its (input x output) layout, the transpose of ours
    np.testing.assert_allclose(
        layer.weight.T,
        [[-2.16666667, -2.16666667, 5.83333333], [-1.83333333, -1.83333333, 5.16666667]],
        atol=5e-9,
    )
    np.testing.assert_allclose(layer.bias, [0.66666667, 0.66666667, 1.66666667], atol=5e-9)
    np.testing.assert_allclose(softmax(layer(x)), [[3.09335001e-50, 3.09335001e-50, 1.0]], rtol=1e-8)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fused_equals_softmax_then_cross_entropy(reduction):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4)) * 3
    labels = rng.integers(0, 4, 6)
    fused = bp.SoftmaxCrossEntropy(reduction)
    softmax_layer, cross_entropy = bp.Softmax(), bp.CrossEntropy(reduction)
    assert fused(z, labels) == pytest.approx(cross_entropy(softmax_layer(z), labels), abs=1e-10)
    unfused_grad = softmax_layer.backward(cross_entropy.backward())
    np.testing.assert_allclose(fused.backward(), unfused_grad, atol=1e-10)
    # and the fused gradient is (p - t) / N (mean) or p - t (sum)
    p, t = softmax(z), np.eye(4)[labels]
    np.testing.assert_allclose(fused.backward(), (p - t) / (6 if reduction == "mean" else 1), atol=1e-15)


def test_probability_targets_equal_one_hot_labels():
    rng = np.random.default_rng(1)
    z, labels = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    a, b = bp.SoftmaxCrossEntropy(), bp.SoftmaxCrossEntropy()
    assert a(z, labels) == pytest.approx(b(z, np.eye(3)[labels]), abs=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), atol=1e-15)


def test_mse_by_hand_and_seed_delta():
    outputs, targets = np.array([[1.0], [3.0]]), np.array([[2.0], [1.0]])
    total = bp.MSELoss("sum")
    assert total(outputs, targets) == 1.0 + 4.0
    np.testing.assert_array_equal(total.backward(), -2 * (targets - outputs))
    mean = bp.MSELoss()
    assert mean(outputs, targets) == 2.5
    np.testing.assert_array_equal(mean.backward(), -(targets - outputs))


def test_mse_mean_is_over_every_output_and_how_learning_rates_map():
    """MSELoss("mean") divides by N C; the seeds' batch error by N; Nielsen's cost by 2N.

    So the seeds' step alpha is lr = alpha C here, and Nielsen's eta is lr = eta C / 2.
    """
    rng = np.random.default_rng(3)
    n, c = 4, 3
    outputs, targets = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    mean = bp.MSELoss()
    value = mean(outputs, targets)
    seeds = np.sum((targets - outputs) ** 2) / n  # (1/N) sum_n sum_i (y_ni - O_ni)^2
    nielsen = np.sum((targets - outputs) ** 2) / (2 * n)  # (1/2N) sum_n ||y_n - O_n||^2
    assert value * c == pytest.approx(seeds, rel=1e-14)
    assert value * c / 2 == pytest.approx(nielsen, rel=1e-14)
    # the gradients scale alike: lr * dE_ours = (lr / C) * dE_seeds = (2 lr / C) * dE_nielsen
    np.testing.assert_allclose(mean.backward() * c, -2 * (targets - outputs) / n, rtol=1e-14)
    np.testing.assert_allclose(mean.backward() * c / 2, -(targets - outputs) / n, rtol=1e-14)


def test_mse_value_does_not_overflow_in_float32():
    """A float32 residual of 1e20 squares to inf in float32; the squares are added in float64."""
    outputs = np.array([[1e20, 1.0]], np.float32)
    loss = bp.MSELoss()
    assert loss(outputs, np.zeros_like(outputs)) == pytest.approx((1e40 + 1) / 2, rel=1e-7)
    grad = loss.backward()
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, [[1e20, 1.0]], rtol=1e-7)


def test_binary_cross_entropy_by_hand():
    p, t = np.array([[0.8, 0.4]]), np.array([[1.0, 0.0]])
    loss = bp.BinaryCrossEntropy()
    assert loss(p, t) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[-1 / 0.8 / 2, 1 / 0.6 / 2]], rtol=1e-14)


def test_sigmoid_then_binary_cross_entropy_gives_p_minus_t():
    rng = np.random.default_rng(2)
    z, t = rng.standard_normal((4, 3)), rng.integers(0, 2, (4, 3)).astype(F64)
    sigmoid, loss = bp.Sigmoid(), bp.BinaryCrossEntropy()
    p = sigmoid(z)
    loss(p, t)
    np.testing.assert_allclose(sigmoid.backward(loss.backward()), (p - t) / 12, atol=1e-15)


CASES = [
    (bp.SoftmaxCrossEntropy, lambda r: r.standard_normal((5, 4)), lambda r: r.integers(0, 4, 5)),
    (bp.SoftmaxCrossEntropy, lambda r: r.standard_normal((1, 4)), lambda r: r.dirichlet(np.ones(4), 1)),
    (bp.CrossEntropy, lambda r: r.uniform(0.1, 1, (5, 4)), lambda r: r.integers(0, 4, 5)),
    (bp.BinaryCrossEntropy, lambda r: r.uniform(0.05, 0.95, (5, 3)), lambda r: r.uniform(0, 1, (5, 3))),
    (bp.SigmoidBinaryCrossEntropy, lambda r: r.standard_normal((5, 3)) * 3, lambda r: r.uniform(0, 1, (5, 3))),
    (bp.SigmoidBinaryCrossEntropy, lambda r: r.standard_normal((4, 1)) * 3, lambda r: r.integers(0, 2, (4, 1))),
    (bp.MSELoss, lambda r: r.standard_normal((5, 2)), lambda r: r.standard_normal((5, 2))),
    (bp.MSELoss, lambda r: r.standard_normal((1, 1)), lambda r: r.standard_normal((1, 1))),
]


@pytest.mark.parametrize(("loss_class", "make_outputs", "make_targets"), CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gradients_match_finite_differences(loss_class, make_outputs, make_targets, reduction):
    rng = np.random.default_rng(4)
    assert bp.gradcheck(loss_class(reduction), make_outputs(rng), make_targets(rng), rng=rng).passed


@pytest.mark.parametrize("dtype", [np.float32, F64])
def test_extreme_logits_give_finite_loss_and_gradient(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [84.5, -29.5, -29.5]], dtype)
    labels = np.array([1, 0, 1])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        fused = bp.SoftmaxCrossEntropy()
        value = fused(z, labels)
        assert np.isfinite(value) and value == pytest.approx((2e4 + 2e4 + 114) / 3, rel=1e-6)
        assert np.isfinite(fused.backward()).all() and fused.backward().dtype == dtype
        softmax_layer, unfused = bp.Softmax(), bp.CrossEntropy()
        p = softmax_layer(z)
        assert np.isfinite(unfused(p, labels))
        assert np.isfinite(softmax_layer.backward(unfused.backward())).all()
        bce = bp.BinaryCrossEntropy()
        assert np.isfinite(bce(np.array([[0.0, 1.0]], dtype), np.array([[1.0, 0.0]], dtype)))
        assert np.isfinite(bce.backward()).all()


def test_errors_name_the_loss_and_the_shapes():
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy.*labels must lie in \[0, 3\), got 3"):
        bp.SoftmaxCrossEntropy()(z, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got -1"):
        bp.CrossEntropy()(z + 0.3, np.array([0, -1, 2, 1]))
    with pytest.raises(ValueError, match=r"expected integer labels of shape \(4,\).*got \(3,\)"):
        bp.SoftmaxCrossEntropy()(z, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"expected target probabilities of shape \(4, 3\).*got \(4, 2\)"):
        bp.SoftmaxCrossEntropy()(z, np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match="must sum to 1"):
        bp.SoftmaxCrossEntropy()(z, np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match=r"expected outputs of shape \(N, C\), got \(4,\)"):
        bp.SoftmaxCrossEntropy()(np.zeros(4), np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match=r"MSELoss.*expected targets of shape \(4, 1\).*got \(4,\).*reshape"):
        bp.MSELoss()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        bp.BinaryCrossEntropy()(np.full((2, 2), 0.5), np.full((2, 2), 2.0))
    with pytest.raises(TypeError, match="expected integer labels or float probabilities"):
        bp.SoftmaxCrossEntropy()(z, np.array(["a", "b", "c", "d"]))
    with pytest.raises(TypeError, match="expected floating-point outputs, got int64"):
        bp.MSELoss()(np.zeros((2, 2), int), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"reduction must be 'mean' or 'sum', got 'avg'"):
        bp.MSELoss("avg")
    with pytest.raises(ValueError, match="backward called before the loss was computed"):
        bp.MSELoss().backward()


def test_one_hot_rows():
    from backprop.losses import one_hot

    t = one_hot(np.array([2, 0]), 3, np.float32)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t, [[0, 0, 1], [1, 0, 0]])


# --- sample weights and the Poisson likelihood -----------------------------------------------

POISSON = (bp.PoissonNLLLoss, lambda r: r.standard_normal((5, 2)), lambda r: r.poisson(2.0, (5, 2)).astype(float))
WEIGHTED_CASES = [*CASES, POISSON]


def terms_per_sample(loss_class, outputs):
    """How many terms a sample adds to the mean: 1 for the class losses, its outputs for the elementwise."""
    return 1 if loss_class in (bp.SoftmaxCrossEntropy, bp.CrossEntropy) else outputs[0].size


def central_differences(function, z, h=1e-6):
    grad = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = h
        grad[index] = (function(z + step) - function(z - step)) / (2 * h)
    return grad


@pytest.mark.parametrize(("loss_class", "make_outputs", "make_targets"), WEIGHTED_CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_weighted_losses_are_the_weighted_sum_by_hand_and_match_finite_differences(
    loss_class, make_outputs, make_targets, reduction
):
    rng = np.random.default_rng(5)
    z, t = make_outputs(rng), make_targets(rng)
    w = rng.uniform(0.2, 2.0, len(z))
    if len(z) > 1:
        w[0] = 0.0  # a sample of weight 0 counts for nothing
    loss = loss_class(reduction)
    value = loss(z, t, sample_weight=w)
    grad = loss.backward().copy()
    per_sample = np.array([loss_class("sum")(z[i : i + 1], t[i : i + 1]) for i in range(len(z))])
    count = terms_per_sample(loss_class, z) * w.sum() if reduction == "mean" else 1.0
    assert value == pytest.approx(float(np.dot(w, per_sample)) / count, rel=1e-12)
    numeric = central_differences(lambda zz: loss_class(reduction)(zz, t, sample_weight=w), z)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    if len(z) > 1:
        assert not grad[0].any()


@pytest.mark.parametrize(("loss_class", "make_outputs", "make_targets"), WEIGHTED_CASES)
@pytest.mark.parametrize("dtype", [np.float32, F64])
def test_weights_of_one_give_the_unweighted_gradient_bit_for_bit(loss_class, make_outputs, make_targets, dtype):
    rng = np.random.default_rng(6)
    z, t = make_outputs(rng).astype(dtype), make_targets(rng)
    t = t.astype(dtype) if t.dtype.kind == "f" else t
    plain, weighted = loss_class(), loss_class()
    # the values agree to the dtype's rounding (some unweighted sums add in the outputs' dtype)
    rel = 1e-14 if dtype == F64 else 1e-6
    assert weighted(z, t, sample_weight=np.ones(len(z))) == pytest.approx(plain(z, t), rel=rel)
    np.testing.assert_array_equal(weighted.backward(), plain.backward())


@pytest.mark.parametrize(("loss_class", "make_outputs", "make_targets"), WEIGHTED_CASES)
def test_integer_weights_equal_repeating_the_samples(loss_class, make_outputs, make_targets):
    rng = np.random.default_rng(7)
    z, t = make_outputs(rng), make_targets(rng)
    counts = rng.integers(0, 4, len(z))
    counts[-1] = max(counts[-1], 1)
    weighted = loss_class()
    value = weighted(z, t, sample_weight=counts)
    repeated = loss_class()
    rows = np.repeat(np.arange(len(z)), counts)
    assert value == pytest.approx(repeated(z[rows], t[rows]), rel=1e-12)
    # the repeated rows' gradients, added back per sample, are the weighted gradient
    summed = np.zeros_like(z)
    np.add.at(summed, rows, repeated.backward())
    np.testing.assert_allclose(weighted.backward(), summed, rtol=1e-12, atol=1e-15)


def test_mse_weights_reach_the_overflow_path():
    """A float32 residual of 1e20 squares beyond float32: the float64 redo keeps the weights."""
    z = np.array([[1e20], [0.0]], np.float32)
    t = np.zeros((2, 1), np.float32)
    loss = bp.MSELoss()
    assert loss(z, t, sample_weight=[3.0, 1.0]) == pytest.approx(3 * 1e40 / 4, rel=1e-6)
    np.testing.assert_allclose(loss.backward(), [[2 * 3 * 1e20 / 4], [0.0]], rtol=1e-6)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0, 2.0], r"expected sample_weight of 3 numbers, one per sample, got float64 of shape \(2,\)"),
        (["a", "b", "c"], r"expected sample_weight of 3 numbers, one per sample, got <U1 of shape \(3,\)"),
        ([1.0, -1.0, 1.0], r"sample_weight must be finite and >= 0; sample 1 has -1.0$"),
        ([1.0, 1.0, np.nan], r"sample_weight must be finite and >= 0; sample 2 has nan$"),
        ([0, 0, 0], r"sample_weight is all zero; at least one weight must be positive$"),
    ],
)
def test_bad_sample_weights_name_the_loss(weights, message):
    with pytest.raises(ValueError, match=rf"^MSELoss\(reduction='mean'\): {message}"):
        bp.MSELoss()(np.zeros((3, 1)), np.zeros((3, 1)), sample_weight=weights)


def test_poisson_by_hand():
    rates = np.array([[1.0, 2.0], [0.5, 4.0]])
    z, t = np.log(rates), np.array([[0.0, 3.0], [1.0, 2.0]])
    loss = bp.PoissonNLLLoss()
    expected = np.sum(rates - t * z) / 4
    assert loss(z, t) == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(loss.backward(), (rates - t) / 4, rtol=1e-15)
    assert bp.PoissonNLLLoss("sum")(z, t) == pytest.approx(4 * expected, rel=1e-15)
    with pytest.raises(ValueError, match=r"^PoissonNLLLoss\(reduction='mean'\): targets must be counts >= 0, got a minimum of -3.0$"):
        loss(z, -t)


def test_poisson_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    z, t = rng.standard_normal((6, 3)), rng.poisson(1.5, (6, 3)).astype(float)
    for reduction in ("mean", "sum"):
        ours = bp.PoissonNLLLoss(reduction)
        value = ours(z, t)
        zt = torch.tensor(z, requires_grad=True)
        theirs = torch.nn.PoissonNLLLoss(log_input=True, full=False, reduction=reduction)(zt, torch.tensor(t))
        theirs.backward()
        assert value == pytest.approx(theirs.item(), rel=1e-14)
        np.testing.assert_allclose(ours.backward(), zt.grad.numpy(), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, F64])
def test_softmax_cross_entropy_gradient_has_no_subnormal_numbers(dtype):
    """A confident network's p_j / N fall below the smallest normal number; they are 0, since
    subnormal numbers slow every product they enter several times, and the change is < tiny."""
    tiny = np.finfo(dtype).tiny
    gap = 100.0 if dtype == np.float32 else 740.0  # e^-gap is subnormal in the dtype
    z = np.array([[gap, 0.0, 0.0], [0.0, gap, 1.0]], dtype)
    loss = bp.SoftmaxCrossEntropy()
    value = loss(z, np.array([0, 1]))
    grad = loss.backward()
    assert not np.any((grad != 0) & (np.abs(grad) < tiny))
    exact = softmax(z.astype(F64) if dtype == np.float32 else z)
    exact[[0, 1], [0, 1]] -= 1
    np.testing.assert_allclose(grad, exact / 2, rtol=0, atol=2 * tiny + 4 * np.finfo(dtype).eps)
    assert np.isfinite(value)
