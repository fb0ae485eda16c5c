"""bp.datasets.playground: TensorFlow Playground's 2-D problems, as its dataset.ts draws them."""

import numpy as np
import pytest

import backprop as bp
from backprop.datasets import PLAYGROUND, playground


@pytest.mark.parametrize("name", PLAYGROUND)
def test_every_problem_has_its_shapes_dtype_and_seeded_draws(name):
    x, y = playground(name, 301, noise=0.2, seed=4)
    assert x.shape == (301, 2) and x.dtype == np.float32
    assert np.all(np.abs(x) <= 7.5)
    again_x, again_y = playground(name, 301, noise=0.2, seed=4)
    np.testing.assert_array_equal(x, again_x)
    np.testing.assert_array_equal(y, again_y)
    assert not np.array_equal(x, playground(name, 301, noise=0.2, seed=5)[0])
    if name in ("plane", "multigaussian"):
        assert y.shape == (301, 1) and y.dtype == np.float32 and np.all(np.abs(y) <= 1)
    else:
        classes = 3 if name == "spiral3" else 2
        counts = np.bincount(y, minlength=classes)
        assert y.dtype == np.int64 and len(counts) == classes and counts.max() - counts.min() <= 1


def test_without_noise_the_labels_are_the_regions():
    x, y = playground("circle", 400, seed=0)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert np.all(radius[y == 1] <= 2.5) and np.all(radius[y == 0] >= 3.5 - 1e-6)
    x, y = playground("xor", 400, seed=0)
    assert np.array_equal(y == 1, x[:, 0] * x[:, 1] > 0) and np.all(np.abs(x) >= 0.3 - 1e-6)
    x, t = playground("plane", 100, seed=0, dtype=np.float64)
    np.testing.assert_allclose(t[:, 0], (x[:, 0] + x[:, 1]) / 10, rtol=1e-12)
    x, y = playground("gaussian", 2000, seed=0, dtype=np.float64)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(x[y == 0].mean(axis=0), [-2, -2], atol=0.1)


def test_a_small_network_learns_the_circle():
    x, y = playground("circle", 400, noise=0.1, seed=1)
    model = bp.Sequential(bp.Linear(2, 8, rng=0), bp.Tanh(), bp.Linear(8, 2, rng=1))
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.Adam(model, 0.03), x, y, epochs=60, batch_size=20,
           progress=False, seed=0)
    assert bp.evaluate(model, bp.SoftmaxCrossEntropy(), x, y)["accuracy"] > 0.95


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "moons"}, "unknown problem 'moons'; choose one of circle, xor, gaussian, spiral"),
        ({"name": "xor", "n": 0}, "n must be an int >= 1, got 0"),
        ({"name": "xor", "noise": 1.5}, r"noise must be a number in \[0, 1\], got 1.5"),
        ({"name": "xor", "noise": True}, r"noise must be a number in \[0, 1\], got True"),
    ],
)
def test_mistakes_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=f"playground: {message}"):
        playground(**kwargs)
