"""SigmoidBinaryCrossEntropy: the fused sigmoid + binary cross-entropy on logits, and its plumbing.

Its values by hand, its gradient ``(sigmoid(z) - t) / M`` against the unfused pair and against
finite differences (``bp.gradcheck``), its checks, and what ``fit``, ``predict``, ``evaluate``,
``save``/``load``, the accuracy and ``bp.explain`` do with it. Its tails (logits up to +-1e4,
against mpmath and PyTorch) are in ``test_numerics_tails.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import backprop as bp
from backprop.accuracy import classifies, correct_count

F64 = np.float64


def test_it_is_exported():
    assert "SigmoidBinaryCrossEntropy" in bp.__all__
    assert bp.SigmoidBinaryCrossEntropy is bp.losses.SigmoidBinaryCrossEntropy
    assert repr(bp.SigmoidBinaryCrossEntropy("sum")) == "SigmoidBinaryCrossEntropy(reduction='sum')"


def test_value_and_gradient_by_hand():
    # z = 0 and ln 3: p = 1/2 and 3/4. t = 1 and 0: -ln(1/2) = ln 2 and -ln(1 - 3/4) = ln 4
    z, t = np.array([[0.0], [math.log(3)]]), np.array([[1.0], [0.0]])
    loss = bp.SigmoidBinaryCrossEntropy()
    assert loss(z, t) == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-15)
    # M = N = 2 for (N, 1) logits: (p - t) / 2
    np.testing.assert_allclose(loss.backward(), [[(0.5 - 1) / 2], [0.75 / 2]], rtol=1e-15)
    total = bp.SigmoidBinaryCrossEntropy("sum")
    assert total(z, t) == pytest.approx(3 * math.log(2), rel=1e-15)
    np.testing.assert_allclose(total.backward(), [[-0.5], [0.75]], rtol=1e-15)


def test_soft_targets_by_hand():
    # z = ln 3, t = 1/4: L = -(1/4 ln(3/4) + 3/4 ln(1/4)); dL/dz = 3/4 - 1/4 = 1/2
    loss = bp.SigmoidBinaryCrossEntropy("sum")
    value = loss(np.array([[math.log(3)]]), np.array([[0.25]]))
    assert value == pytest.approx(-(0.25 * math.log(0.75) + 0.75 * math.log(0.25)), rel=1e-15)
    assert loss.backward()[0, 0] == pytest.approx(0.5, rel=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(5, 1), (4, 3), (2, 3, 4)])
def test_equals_sigmoid_then_binary_cross_entropy(reduction, shape):
    rng = np.random.default_rng(sum(shape))
    z = rng.standard_normal(shape) * 3
    t = rng.uniform(0, 1, shape)
    fused = bp.SigmoidBinaryCrossEntropy(reduction)
    sigmoid, unfused = bp.Sigmoid(), bp.BinaryCrossEntropy(reduction)
    assert fused(z, t) == pytest.approx(unfused(sigmoid(z), t), rel=1e-13)
    np.testing.assert_allclose(fused.backward(), sigmoid.backward(unfused.backward()), rtol=1e-12, atol=1e-16)
    # and the gradient is (sigmoid(z) - t) / M over every element M (mean) or without 1/M
    m = z.size if reduction == "mean" else 1
    np.testing.assert_allclose(fused.backward(), (1 / (1 + np.exp(-z)) - t) / m, rtol=1e-13, atol=1e-17)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(6, 1), (4, 3), (2, 2, 3)])
def test_gradcheck(reduction, shape):
    rng = np.random.default_rng(7)
    z, t = rng.standard_normal(shape) * 4, rng.integers(0, 2, shape).astype(F64)
    result = bp.gradcheck(bp.SigmoidBinaryCrossEntropy(reduction), z, t, rng=rng)
    assert result.passed and result.relative_errors["input"] < 1e-7


def test_gradcheck_through_a_model():
    rng = np.random.default_rng(3)
    model = bp.Sequential(bp.Linear(4, 5, dtype=F64, rng=0), bp.Sigmoid(), bp.Linear(5, 2, dtype=F64, rng=1))
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 2, (6, 2))
    result = bp.gradcheck(model, x, t, loss=bp.SigmoidBinaryCrossEntropy(), rng=rng)
    assert result.passed and set(result.relative_errors) == {"input", "0.weight", "0.bias", "2.weight", "2.bias"}


def test_float32_stays_float32_and_integer_or_boolean_targets_are_converted():
    z = np.array([[-2.0, 0.5], [3.0, -0.25]], np.float32)
    labels = np.array([[0, 1], [1, 0]])
    loss = bp.SigmoidBinaryCrossEntropy()
    value = loss(z, labels)
    assert loss.backward().dtype == np.float32
    grad = loss.backward().copy()
    assert loss(z, labels.astype(np.float32)) == value
    np.testing.assert_array_equal(loss.backward(), grad)
    assert loss(z, labels.astype(bool)) == value
    np.testing.assert_array_equal(loss.backward(), grad)


def test_large_logits_are_exact_where_the_unfused_pair_saturates():
    z = np.array([[-1e4], [-30.0], [30.0], [1e4]], np.float32)
    t = np.array([[0], [1], [1], [0]])
    loss = bp.SigmoidBinaryCrossEntropy("sum")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss(z, t)
    assert value == pytest.approx(30 + 9.357622968840175e-14 + 1e4, rel=1e-7)
    np.testing.assert_allclose(loss.backward().ravel(), [0.0, -1 + 9.357622968840175e-14, -9.357622968840175e-14, 1.0],
                               rtol=1e-6)
    sigmoid, unfused = bp.Sigmoid(), bp.BinaryCrossEntropy("sum")
    # sigmoid(1e4) rounds to 1, clipped to 1 - 2^-24: 24 ln 2 = 16.6 instead of 1e4
    assert unfused(sigmoid(z), t) == pytest.approx(30 + 24 * math.log(2), rel=1e-6)
    assert sigmoid.backward(unfused.backward())[2, 0] == 0  # instead of -e^-30


@pytest.mark.parametrize(
    ("outputs", "targets", "error", "message"),
    [
        (np.zeros((4, 1)), np.zeros(4), ValueError,
         r"SigmoidBinaryCrossEntropy\(reduction='mean'\): expected targets of shape \(4, 1\) \(the outputs'\),"
         r" got \(4,\) \(reshape the targets with t.reshape\(-1, 1\)\)"),
        (np.zeros((4, 2)), np.zeros((4, 3)), ValueError, r"expected targets of shape \(4, 2\).*got \(4, 3\)"),
        (np.zeros((2, 1)), np.array([[0.5], [1.5]]), ValueError,
         r"SigmoidBinaryCrossEntropy.*targets must lie in \[0, 1\], got values in \[0.5, 1.5\]"),
        (np.zeros((2, 1)), np.array([[-1], [1]]), ValueError, r"targets must lie in \[0, 1\], got values in \[-1"),
        (np.zeros((2, 1)), np.array([[np.nan], [1.0]]), ValueError, r"targets must lie in \[0, 1\]"),
        (np.zeros((2, 1)), np.array([["a"], ["b"]]), TypeError,
         r"SigmoidBinaryCrossEntropy.*expected targets of 0/1 labels or probabilities in \[0, 1\], got dtype <U1"),
        (np.zeros((2, 1), int), np.zeros((2, 1)), TypeError, r"expected floating-point outputs, got int64"),
        (np.zeros((0, 1)), np.zeros((0, 1)), ValueError, r"expected outputs of shape \(N, \.\.\.\), got \(0, 1\)"),
        ([[0.0]], np.zeros((1, 1)), TypeError, r"expected outputs as a numpy.ndarray, got list"),
    ],
)
def test_errors_name_the_loss_and_what_was_wrong(outputs, targets, error, message):
    with pytest.raises(error, match=message):
        bp.SigmoidBinaryCrossEntropy()(outputs, targets)


def test_binary_cross_entropy_refuses_nan_targets_too():
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy.*targets must lie in \[0, 1\]"):
        bp.BinaryCrossEntropy()(np.full((1, 2), 0.5), np.array([[np.nan, 1.0]]))


def test_backward_before_forward_and_bad_reduction():
    with pytest.raises(ValueError, match="backward called before the loss was computed"):
        bp.SigmoidBinaryCrossEntropy().backward()
    with pytest.raises(ValueError, match=r"SigmoidBinaryCrossEntropy: reduction must be 'mean' or 'sum', got 'avg'"):
        bp.SigmoidBinaryCrossEntropy("avg")


# --- accuracy, fit, predict, evaluate, save and load --------------------------------------------


def test_accuracy_thresholds_the_logit_at_zero_and_needs_every_label():
    loss = bp.SigmoidBinaryCrossEntropy()
    assert classifies(loss)
    z = np.array([[2.0, -1.0], [0.5, 0.5], [-3.0, 1.0], [0.0, 4.0]])
    t = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    # right, one label wrong, right, right (a logit of 0 is probability 1/2: "no")
    assert correct_count(z, t, loss) == 3
    assert correct_count(z[:, :1], t[:, :1], loss) == 4
    # the unfused loss thresholds the probability at 1/2: the same answers
    assert correct_count(1 / (1 + np.exp(-z)), t, bp.BinaryCrossEntropy()) == 3


def two_blobs(n=200, seed=0):
    """Two Gaussian clusters in 2-D, labels 0/1 as an (N, 1) column."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    x = np.where(labels[:, None] == 1, 2.0, -2.0) + rng.standard_normal((n, 2))
    return x.astype(np.float32), labels[:, None]


def logistic_model(seed=0):
    rng = np.random.default_rng(seed)
    return bp.Sequential(bp.Linear(2, 8, rng=rng), bp.Sigmoid(), bp.Linear(8, 1, rng=rng))


def test_fit_predict_evaluate_and_save_load(tmp_path):
    x, labels = two_blobs()
    model = logistic_model()
    loss = bp.SigmoidBinaryCrossEntropy()
    history = bp.fit(model, loss, bp.SGD(model, 0.5), x, labels, epochs=10, batch_size=32, progress=False)
    assert model.output_transform == "sigmoid"
    assert history["accuracy"][-1] > 0.95 and history["loss"][-1] < history["loss"][0] / 2
    logits = bp.predict(model, x, probabilities=False)
    probabilities = bp.predict(model, x, batch_size=7)
    np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-logits.astype(F64))), rtol=1e-6)
    assert probabilities.dtype == np.float32 and probabilities.shape == (len(x), 1)
    result = bp.evaluate(model, loss, x, labels)
    assert result["accuracy"] == pytest.approx(np.mean((logits > 0) == (labels == 1)))
    bp.save(model, tmp_path / "binary.safetensors")
    loaded = bp.load(tmp_path / "binary.safetensors")
    assert loaded.output_transform == "sigmoid"
    np.testing.assert_array_equal(bp.predict(loaded, x, batch_size=7), probabilities)


def test_fit_checks_the_targets_before_the_first_step():
    x, labels = two_blobs(20)
    model = logistic_model()
    before = {name: value.copy() for name, value in model.params.items()}
    bad = labels.astype(np.float32)
    bad[7, 0] = 2.0
    with pytest.raises(
        ValueError,
        match=r"^fit: SigmoidBinaryCrossEntropy needs targets in \[0, 1\] \(labels 0/1 or probabilities\);"
        r" y holds 1 outside, the first 2 at sample 7, feature 0$",
    ):
        bp.fit(model, bp.SigmoidBinaryCrossEntropy(), bp.SGD(model, 0.5), x, bad, progress=False)
    assert all(np.array_equal(before[name], value) for name, value in model.params.items())
    with pytest.raises(ValueError, match=r"fit: the model outputs \(1,\) per sample.*reshape them with y.reshape"):
        bp.fit(model, bp.SigmoidBinaryCrossEntropy(), bp.SGD(model, 0.5), x, labels.ravel(), progress=False)


def test_integer_targets_become_the_models_dtype_once():
    from backprop.datacheck import check_data

    x, labels = two_blobs(10)
    _, y = check_data(logistic_model(), bp.SigmoidBinaryCrossEntropy(), x, labels, "fit")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, labels)


def test_multi_label_fit():
    """Two independent yes/no labels per sample: is x_0 > 0, is x_1 > 0."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 2)).astype(np.float32)
    labels = (x > 0).astype(np.int64)
    model = bp.Sequential(bp.Linear(2, 2, rng=rng))
    bp.fit(model, bp.SigmoidBinaryCrossEntropy(), bp.SGD(model, 2.0), x, labels, epochs=20, batch_size=30,
           progress=False)
    assert bp.evaluate(model, bp.SigmoidBinaryCrossEntropy(), x, labels)["accuracy"] > 0.95


# --- explain --------------------------------------------------------------------------------


def test_explain_starts_the_backward_pass_at_sigmoid_minus_t():
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.Linear(3, 4, dtype=F64, rng=0), bp.Sigmoid(), bp.Linear(4, 1, dtype=F64, rng=1))
    text = bp.explain(model, bp.SigmoidBinaryCrossEntropy(), rng.standard_normal((4, 3)),
                      np.array([[0], [1], [1], [0]]), lr=0.5)
    prose = " ".join(text.split())
    assert "The fused sigmoid + binary cross-entropy on the logits z_2" in prose
    assert "delta_2 = dL/dz_2 = (sigmoid(z_2) - t) / M" in prose
    assert "Equals SigmoidBinaryCrossEntropy.backward(): yes" in prose
    assert "they agree" in prose and ": NO " not in prose


def test_matches_torch_for_every_shape_and_reduction():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for shape in [(5, 1), (3, 4), (2, 3, 2)]:
        for reduction in ("mean", "sum"):
            z, t = rng.standard_normal(shape) * 10, rng.uniform(0, 1, shape)
            loss = bp.SigmoidBinaryCrossEntropy(reduction)
            value = loss(z, t)
            tz = torch.from_numpy(z.copy()).requires_grad_()
            theirs = torch.nn.functional.binary_cross_entropy_with_logits(tz, torch.from_numpy(t), reduction=reduction)
            theirs.backward()
            assert value == pytest.approx(float(theirs.detach()), rel=1e-14)
            np.testing.assert_allclose(loss.backward(), tz.grad.numpy(), rtol=1e-12, atol=1e-17)
