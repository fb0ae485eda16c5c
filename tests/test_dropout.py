import numpy as np
import pytest

import backprop as bp


def test_training_zeroes_and_rescales():
    layer = bp.Dropout(0.25, rng=0)
    x = np.ones((200, 100), np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.01
    gx = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(gx != 0, kept)
    np.testing.assert_allclose(gx[kept], 2 / 0.75, rtol=1e-6)


def test_eval_is_identity_and_train_restores():
    layer = bp.Dropout(0.5, rng=0)
    x = np.arange(6.0).reshape(2, 3)
    layer.eval()
    assert layer(x) is x
    gy = np.ones((2, 3))
    assert layer.backward(gy) is gy
    layer.train()
    assert (layer(np.ones((50, 50))) == 0).any()


def test_model_eval_reaches_dropout():
    model = bp.Sequential(bp.Linear(3, 3), bp.Dropout(0.9, rng=0))
    model.eval()
    assert not model[1].training
    x = np.ones((4, 3), np.float32)
    np.testing.assert_array_equal(model(x), model[0](x))
    model.train()
    assert model[1].training


def test_gradient_matches_finite_differences_with_the_same_mask():
    rng = np.random.default_rng(3)
    assert bp.gradcheck(bp.Dropout(0.4, rng=rng), rng.standard_normal((5, 7)), rng=rng).passed


def test_seeded_masks_reproduce():
    x = np.ones((10, 10))
    np.testing.assert_array_equal(bp.Dropout(0.5, rng=1)(x), bp.Dropout(0.5, rng=1)(x))


@pytest.mark.parametrize("p", [-0.1, 1.0, 2, "half"])
def test_bad_probability(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\)"):
        bp.Dropout(p)
