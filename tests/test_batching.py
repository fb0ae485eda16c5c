"""``batch_size="auto"`` in ``predict`` and ``evaluate``: the batch follows the activations' size."""

import numpy as np
import pytest
import scipy.sparse

import backprop as bp
from backprop import architectures
from backprop.batching import ACTIVATION_BUDGET, auto_batch_size, largest_activation


def images(n, dtype=np.float32):
    return np.random.default_rng(0).random((n, 1, 28, 28)).astype(dtype)


@pytest.mark.parametrize(
    ("name", "largest", "batch"),
    [
        ("cnn", 32 * 28 * 28 * 4, 64),  # the first convolution's 32 maps of 28 x 28
        ("lenet5", 6 * 28 * 28 * 4, 256),
        ("resnet", 16 * 28 * 28 * 4, 128),
    ],
)
def test_a_cnn_gets_as_many_samples_as_its_largest_activation_fits(name, largest, batch):
    model = architectures.build(name, (1, 28, 28), 10, rng=0).eval()
    assert largest_activation(model, images(1)) == largest
    assert batch <= ACTIVATION_BUDGET // largest < 2 * batch  # the power of two at or below
    assert auto_batch_size(model, images(5_000)) == batch


def test_an_mlp_gets_the_most_and_a_small_set_goes_at_once():
    model = architectures.build("mlp", (784,), 10, rng=0).eval()
    x = images(5_000).reshape(5_000, -1)
    assert auto_batch_size(model, x) == 1024
    assert auto_batch_size(model, x[:700]) == 700
    assert auto_batch_size(model, x[:3]) == 3
    assert auto_batch_size(model, scipy.sparse.csr_matrix(x[:100])) == 100  # sparse rows probe too


def test_auto_gives_the_numbers_of_any_other_batch():
    model = architectures.build("cnn", (1, 28, 28), 10, dtype=np.float64, rng=0)
    x = images(150, np.float64)
    auto = bp.predict(model, x)
    np.testing.assert_allclose(auto, bp.predict(model, x, batch_size=None), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(auto, bp.predict(model, x, batch_size=7), rtol=1e-12, atol=1e-15)
    y = np.arange(150) % 10
    loss = bp.SoftmaxCrossEntropy()
    scores = bp.evaluate(model, loss, x, y)
    assert scores == pytest.approx(bp.evaluate(model, loss, x, y, batch_size=None), rel=1e-12)
    assert model.training  # predict and evaluate give the mode back
