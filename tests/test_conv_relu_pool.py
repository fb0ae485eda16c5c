"""Sequential runs Conv2d -> ReLU -> MaxPool2d with the bias and the ReLU after the pooling."""

import pickle

import numpy as np
import pytest

import backprop as bp
from backprop.layers.conv_relu_pool import ConvReLUPool


def one_by_one(layers, x, gy):
    """Each layer's own forward, then each layer's own backward: the order the layers are written in."""
    outputs = [x]
    for layer in layers:
        outputs.append(layer(outputs[-1]))
    for layer in reversed(layers):
        gy = layer.backward(gy)
    return outputs[-1], gy, {name: g.copy() for name, g in bp.Sequential(*layers).grads.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("kernel", "stride"), [(2, None), (3, 2)])
def test_block_gives_the_layers_function_and_gradients(dtype, bias, kernel, stride):
    rng = np.random.default_rng(0)
    model = bp.Sequential(
        bp.Conv2d(2, 5, 3, padding=1, bias=bias, dtype=dtype, rng=rng),
        bp.ReLU(),
        bp.MaxPool2d(kernel, stride),
        bp.Flatten(),
        bp.Linear(5 * 3 * 3, 3, dtype=dtype, rng=rng),  # 7x7 pools to 3x3 either way
    )
    assert isinstance(model.steps[0], ConvReLUPool) and len(model.steps) == 3
    x = rng.standard_normal((4, 2, 7, 7)).astype(dtype)
    y = model(x)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = model.backward(gy)
    grads = {name: g.copy() for name, g in model.grads.items()}
    y_layers, gx_layers, grads_layers = one_by_one(model.layers, x, gy)
    # The forward is the same number: rounding is monotone, so max and + bias commute exactly.
    np.testing.assert_array_equal(y, y_layers)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gx, gx_layers, rtol=tolerance, atol=tolerance)
    assert grads.keys() == grads_layers.keys()
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_layers[name], rtol=tolerance, atol=tolerance)


def test_block_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    model = bp.Sequential(
        bp.Conv2d(1, 3, 3, padding=1, dtype=np.float64, rng=rng),
        bp.ReLU(),
        bp.MaxPool2d(2),
        bp.Conv2d(3, 4, 3, padding=1, dtype=np.float64, rng=rng),
        bp.ReLU(),
        bp.MaxPool2d(2),
    )
    assert [type(step) for step in model.steps] == [ConvReLUPool, ConvReLUPool]
    assert bp.gradcheck(model, rng.standard_normal((3, 1, 8, 8)), rng=rng, eps=1e-6, rtol=1e-6, atol=1e-8, directions=4).passed


def test_block_sets_parameter_gradients_as_training_does():
    """``backward(gy, input_grad=False)`` (what ``fit`` runs) sets the same gradients as ``backward``."""
    rng = np.random.default_rng(2)
    model = bp.Sequential(bp.Conv2d(1, 3, 3, rng=rng), bp.ReLU(), bp.MaxPool2d(2), bp.Flatten())
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    gy = rng.standard_normal(model(x).shape).astype(np.float32)
    model.backward(gy)
    expected = {name: g.copy() for name, g in model.grads.items()}
    for g in model.grads.values():
        g[...] = np.nan
    model(x)
    assert model.backward(gy, input_grad=False) is None
    for name, g in model.grads.items():
        np.testing.assert_array_equal(g, expected[name])


def test_only_that_run_of_layers_becomes_a_block():
    rng = np.random.default_rng(3)
    conv = bp.Conv2d(1, 2, 3, rng=rng)
    assert not ConvReLUPool.matches((conv, bp.Sigmoid(), bp.MaxPool2d(2)))
    assert not ConvReLUPool.matches((conv, bp.MaxPool2d(2), bp.ReLU()))
    assert not ConvReLUPool.matches((conv, bp.ReLU()))
    model = bp.Sequential(bp.ReLU(), conv, bp.ReLU())
    model.append(bp.MaxPool2d(2))  # append completes the run
    assert [type(step).__name__ for step in model.steps] == ["ReLU", "ConvReLUPool"]


def test_training_reuses_the_blocks_inner_buffers_and_eval_keeps_none():
    """The inner arrays never reach the caller: outputs of two calls stay distinct and intact."""
    rng = np.random.default_rng(4)
    model = bp.Sequential(bp.Conv2d(1, 3, 3, padding=1, rng=rng), bp.ReLU(), bp.MaxPool2d(2))
    block = model.steps[0]
    x1, x2 = (rng.standard_normal((2, 1, 6, 6)).astype(np.float32) for _ in range(2))
    y1 = model(x1)
    kept = y1.copy()
    g1 = model.backward(np.ones_like(y1))
    g1_kept = g1.copy()
    buffers = {name: id(array) for name, (_, array) in block._scratch._buffers.items()}
    y2 = model(x2)
    model.backward(np.ones_like(y2))
    np.testing.assert_array_equal(y1, kept)
    np.testing.assert_array_equal(g1, g1_kept)
    assert buffers and buffers == {n: id(a) for n, (_, a) in block._scratch._buffers.items()}
    model.eval()
    fresh = bp.Sequential(bp.Conv2d(1, 3, 3, padding=1, rng=0), bp.ReLU(), bp.MaxPool2d(2)).eval()
    fresh(x1)
    assert fresh.steps[0]._scratch._buffers == {}
    np.testing.assert_array_equal(model(x1), kept)


def block_model(seed=5):
    rng = np.random.default_rng(seed)
    conv = bp.Conv2d(2, 3, 3, padding=1, dtype=np.float64, rng=rng)
    return bp.Sequential(conv, bp.ReLU(), bp.MaxPool2d(2), bp.Flatten(), bp.Linear(12, 2, dtype=np.float64, rng=rng))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_a_layers_own_backward_after_the_blocks_forward_names_model_backward(mode):
    """After ``model(x)`` the block's layers hold its numbers: each one's own backward (and the
    convolution's parameter-only one) refuses, naming the layer and ``model.backward``, even with
    a gradient of the right shape; ``model.backward`` itself still runs."""
    model = block_model().train(mode == "train")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 2, 4, 4))
    y = model(x)
    conv, relu, pool = model.layers[:3]
    conv_map, pooled = np.ones((4, 3, 4, 4)), np.ones((4, 3, 2, 2))
    calls = [
        (conv, conv.backward, conv_map), (conv, lambda gy: conv.backward(gy, input_grad=False), conv_map),
        (relu, relu.backward, pooled), (relu, relu.backward, conv_map), (pool, pool.backward, pooled),
    ]
    for layer, backward, gy in calls:
        with pytest.raises(ValueError) as info:
            backward(gy)
        message = str(info.value)
        assert message.startswith(f"{layer}: backward expected the layer's own forward"), message
        assert "Sequential's Conv2d-ReLU-MaxPool2d block" in message and "call model.backward(gy)" in message
    gy = rng.standard_normal(y.shape)
    model.backward(gy)
    model.backward(gy, input_grad=False)


def test_the_layers_one_by_one_after_the_block_work_as_on_their_own():
    """``bp.explain``'s way, after ``model(x)``: the same numbers as layers that never ran in a block."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 2, 4, 4))
    gy = rng.standard_normal((4, 12))
    blocked, fresh = block_model(), block_model()
    blocked(x)
    blocked.backward(np.ones((4, 2)))
    after_block = one_by_one(blocked.layers[:4], x, gy)
    alone = one_by_one(fresh.layers[:4], x, gy)
    np.testing.assert_array_equal(after_block[0], alone[0])
    np.testing.assert_array_equal(after_block[1], alone[1])
    for name in alone[2]:
        np.testing.assert_array_equal(after_block[2][name], alone[2][name])
    # and the converse: the block keeps its own forward's state, so the layers running one by one
    # in between change nothing in the model's backward
    blocked(x)
    expected = blocked.backward(np.ones((4, 2)))
    blocked(x)
    one_by_one(blocked.layers[:4], x, gy)
    np.testing.assert_array_equal(blocked.backward(np.ones((4, 2)), input_grad=True), expected)


def test_a_copy_made_between_forward_and_backward_keeps_the_blocks_state():
    """A copy keeps its blocks with their forward's state, and its layers' marks and caches.

    That one backward agrees to rounding only: pickle stores the forward's channels-last maps
    C-ordered, and the bias's sum follows the layout. From the next forward on it is exact.
    """
    model = block_model()
    x = np.random.default_rng(8).standard_normal((4, 2, 4, 4))
    gy = np.ones((4, 2))
    model(x)
    twin = pickle.loads(pickle.dumps(model))
    assert twin.steps[0] is not model.steps[0] and twin.steps[0].conv is twin.layers[0]
    with pytest.raises(ValueError, match=r"^ReLU\(\): backward expected the layer's own forward"):
        twin.layers[1].backward(np.ones((4, 3, 2, 2)))
    np.testing.assert_allclose(twin.backward(gy), model.backward(gy), rtol=1e-12, atol=1e-14)
    for name in model.grads:
        np.testing.assert_allclose(twin.grads[name], model.grads[name], rtol=1e-12, atol=1e-14)
    twin(x)
    model(x)
    np.testing.assert_array_equal(twin.backward(gy), model.backward(gy))
    for name in model.grads:
        np.testing.assert_array_equal(twin.grads[name], model.grads[name])


def test_in_eval_the_block_pools_without_positions_and_its_backward_still_works():
    rng = np.random.default_rng(7)
    layers = (bp.Conv2d(2, 4, 3, padding=1, rng=rng, dtype=np.float64), bp.ReLU(), bp.MaxPool2d(2))
    model = bp.Sequential(*layers).eval()
    x = rng.standard_normal((3, 2, 6, 6))
    y = model(x)
    assert model.steps[0]._argmax is None
    gy = rng.standard_normal(y.shape)
    gx = model.backward(gy)
    trained = bp.Sequential(*layers)
    np.testing.assert_array_equal(trained(x), y)
    np.testing.assert_array_equal(trained.backward(gy), gx)
