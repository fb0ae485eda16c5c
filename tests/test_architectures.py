"""``architectures.build`` is the one way to build a named model: the benchmark and the sigmoid
example get from it exactly the weights their own hand-written layers used to draw."""

import itertools

import numpy as np
import pytest

import backprop as bp
from backprop.bench.ours import our_model
from backprop.examples import sigmoid


def hand_built(sizes, activation, dtype, rng, convolutions=()):
    """The layers as bench/ours.py and examples/sigmoid.py wrote them out before they called build."""
    layers = []
    for c_in, c_out in convolutions:
        layers += [bp.Conv2d(c_in, c_out, 3, padding=1, dtype=dtype, rng=rng), bp.ReLU(), bp.MaxPool2d(2)]
    if convolutions:
        layers.append(bp.Flatten())
    for a, b in itertools.pairwise(sizes):
        layers += [bp.Linear(a, b, dtype=dtype, rng=rng), activation()]
    return bp.Sequential(*layers[:-1])


def assert_same_model(model, reference):
    assert repr(model) == repr(reference)
    assert list(model.params) == list(reference.params)
    for name, array in reference.params.items():
        assert model.params[name].dtype == array.dtype
        np.testing.assert_array_equal(model.params[name], array, err_msg=name)


@pytest.mark.parametrize(
    "kind, reference",
    [
        ("mlp", lambda rng: hand_built((784, 256, 128, 10), bp.ReLU, np.float32, rng)),
        ("sigmoid-mlp", lambda rng: hand_built((784, 100, 10), bp.Sigmoid, np.float32, rng)),
        ("cnn", lambda rng: hand_built((64 * 7 * 7, 128, 10), bp.ReLU, np.float32, rng, ((1, 32), (32, 64)))),
    ],
)
def test_the_benchmark_models_are_bit_identical_to_the_hand_built_ones(kind, reference):
    assert_same_model(our_model(kind), reference(np.random.default_rng(0)))


@pytest.mark.parametrize("hidden, dtype", [((32, 16), np.float32), ((16, 8), np.float64), ((), np.float64)])
def test_the_sigmoid_example_model_is_bit_identical_to_the_hand_built_one(hidden, dtype):
    sizes = (64, *hidden, 10)
    assert_same_model(sigmoid.build(64, hidden, 10, dtype, 3), hand_built(sizes, bp.Sigmoid, dtype, np.random.default_rng(3)))
    generator, again = np.random.default_rng(5), np.random.default_rng(5)
    assert_same_model(sigmoid.build(64, hidden, 10, dtype, generator), hand_built(sizes, bp.Sigmoid, dtype, again))


def test_lenet5_has_lecuns_shapes_and_refuses_small_images():
    model = bp.architectures.build("lenet5", (1, 28, 28), 10, rng=0)
    assert str(model) == (
        "Sequential(Conv2d(1 -> 6, kernel 5x5, stride 1, padding 2), Tanh(), AvgPool2d(kernel 2x2, stride 2),"
        " Conv2d(6 -> 16, kernel 5x5, stride 1, padding 0), Tanh(), AvgPool2d(kernel 2x2, stride 2), Flatten(),"
        " Linear(400 -> 120), Tanh(), Linear(120 -> 84), Tanh(), Linear(84 -> 10))"
    )
    assert sum(p.size for p in model.params.values()) == 61_706  # LeNet-5's count with 10 outputs
    assert model(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    assert "ReLU" in str(bp.architectures.build("lenet5", (3, 32, 32), 4, activation="relu", rng=0))
    with pytest.raises(ValueError, match=r"the lenet5 model needs images \(C, H, W\) with H, W >= 12, got samples of shape \(1, 8, 8\)"):
        bp.architectures.build("lenet5", (1, 8, 8), 10)


def test_resnet_is_three_stages_of_two_residual_blocks_with_batch_norm():
    from backprop import architectures

    model = architectures.build("resnet", (1, 28, 28), 10, rng=0)
    residuals = [layer for layer in model if isinstance(layer, bp.Residual)]
    assert len(residuals) == 6
    assert [r.shortcut is not None for r in residuals] == [False, False, True, False, True, False]
    assert sum(isinstance(m, bp.BatchNorm2d) for m in model.modules()) == 15  # stem, 12 in blocks, 2 projections
    assert len(model.buffers) == 30
    assert all("bias" not in m.params for m in model.modules() if isinstance(m, bp.Conv2d))  # BatchNorm follows each
    x = np.zeros((2, 1, 28, 28), np.float32)
    assert model(x).shape == (2, 10)
    assert str(model[-2]) == "GlobalAvgPool2d()" and str(model[-1]) == "Linear(64 -> 10)"
    narrow = architectures.build("resnet", (3, 8, 8), 4, hidden=(8, 16), rng=0)
    assert narrow.eval()(np.zeros((1, 3, 8, 8), np.float32)).shape == (1, 4)  # one sample: the running statistics
    with pytest.raises(ValueError, match=r"the resnet model needs images \(C, H, W\) and at least one stage width, got samples of shape \(64,\)"):
        architectures.build("resnet", (64,), 10)
