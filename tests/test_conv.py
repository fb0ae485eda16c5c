import json

import numpy as np
import pytest

import backprop as bp
from backprop.layers import conv
from backprop.layers.conv import Conv2d

F64 = np.float64


def naive_conv2d(x, W, b, stride, padding):
    """The definition, one output pixel at a time: y[n,o,i,j] = sum W[o] * window + b[o]."""
    (sy, sx), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    _, _, kh, kw = W.shape
    ho = (xp.shape[2] - kh) // sy + 1
    wo = (xp.shape[3] - kw) // sx + 1
    y = np.zeros((x.shape[0], W.shape[0], ho, wo))
    for n in range(x.shape[0]):
        for o in range(W.shape[0]):
            for i in range(ho):
                for j in range(wo):
                    window = xp[n, :, i * sy : i * sy + kh, j * sx : j * sx + kw]
                    y[n, o, i, j] = np.sum(W[o] * window) + (0.0 if b is None else b[o])
    return y


# (batch, in, out, H, W, kernel, stride, padding)
CASES = [
    (1, 1, 1, 5, 5, 3, 1, 0),
    (3, 2, 3, 5, 7, (2, 3), 1, 1),
    (3, 3, 2, 6, 5, 3, 2, 0),
    (1, 2, 4, 7, 6, (3, 2), 2, 1),
    (3, 2, 3, 6, 8, (2, 3), (2, 1), (0, 1)),
    (2, 3, 2, 4, 5, 1, 1, 0),
    (2, 2, 3, 4, 4, 1, 1, 1),  # stride 1 with padding >= kernel: col2im, not the full correlation
    (2, 2, 3, 5, 4, (3, 2), 1, (2, 0)),
]


@pytest.mark.parametrize(("batch", "c_in", "c_out", "h", "w", "kernel", "stride", "padding"), CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_forward_matches_naive_loop(batch, c_in, c_out, h, w, kernel, stride, padding, bias):
    rng = np.random.default_rng(0)
    layer = Conv2d(c_in, c_out, kernel, stride, padding, bias=bias, dtype=F64, rng=rng)
    x = rng.standard_normal((batch, c_in, h, w))
    y = layer(x)
    expected = naive_conv2d(x, layer.weight, layer.bias, layer.stride, layer.padding)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("batch", "c_in", "c_out", "h", "w", "kernel", "stride", "padding"), CASES)
def test_gradients_match_finite_differences(batch, c_in, c_out, h, w, kernel, stride, padding):
    rng = np.random.default_rng(1)
    layer = Conv2d(c_in, c_out, kernel, stride, padding, dtype=F64, rng=rng)
    assert bp.gradcheck(layer, rng.standard_normal((batch, c_in, h, w)), rng=rng, eps=1e-6, rtol=1e-6, atol=1e-8, directions=4).passed


def test_gradients_without_bias():
    rng = np.random.default_rng(2)
    layer = Conv2d(2, 3, (2, 3), stride=2, padding=1, bias=False, dtype=F64, rng=rng)
    assert set(layer.grads) == {"weight"}
    assert bp.gradcheck(layer, rng.standard_normal((2, 2, 5, 6)), rng=rng, eps=1e-6, rtol=1e-6, atol=1e-8, directions=4).passed


def test_forward_and_backward_by_hand():
    layer = Conv2d(1, 1, 2, dtype=F64)
    layer.weight[...] = [[[[1, 2], [3, 4]]]]
    layer.bias[...] = 10
    x = np.arange(9, dtype=F64).reshape(1, 1, 3, 3)
    # y[0,0] = 1*0 + 2*1 + 3*3 + 4*4 + 10 = 37, and each step right adds 1+2+3+4, down 3*10
    np.testing.assert_array_equal(layer(x), [[[[37, 47], [67, 77]]]])
    gx = layer.backward(np.ones((1, 1, 2, 2)))
    # every input pixel collects the weights of the windows that read it
    np.testing.assert_array_equal(gx, [[[[1, 3, 2], [4, 10, 6], [3, 7, 4]]]])
    np.testing.assert_array_equal(layer.grads["weight"], [[[[8, 12], [20, 24]]]])
    np.testing.assert_array_equal(layer.grads["bias"], [4])


def test_backward_sets_rather_than_accumulates():
    rng = np.random.default_rng(3)
    layer = Conv2d(2, 3, 3, padding=1, dtype=F64, rng=rng)
    y = layer(rng.standard_normal((2, 2, 4, 5)))
    gy = rng.standard_normal(y.shape)
    gx = layer.backward(gy).copy()
    first = {name: g.copy() for name, g in layer.grads.items()}
    grad_arrays = dict(layer.grads)
    np.testing.assert_array_equal(layer.backward(gy), gx)
    for name, g in layer.grads.items():
        np.testing.assert_array_equal(g, first[name])
        assert g is grad_arrays[name]


@pytest.mark.parametrize(("c_in", "stride"), [(1, 1), (1, 2), (3, 1)])
def test_blocks_of_samples_match_one_block(monkeypatch, c_in, stride):
    """A batch cut into blocks (the last one short) gives what the definition gives.

    c_in = 1 with stride 1 takes the transposed columns, the others the row-per-pixel ones.
    """
    rng = np.random.default_rng(5)
    layer = Conv2d(c_in, 4, 3, stride, padding=1, dtype=F64, rng=rng)
    x = rng.standard_normal((7, c_in, 6, 5))
    rows_per_sample = ((6 + 2 - 3) // stride + 1) * ((5 + 2 - 3) // stride + 1)
    monkeypatch.setattr(conv, "BLOCK_BYTES", 2 * rows_per_sample * 9 * c_in * 8)  # 2 samples a block
    expected = naive_conv2d(x, layer.weight, layer.bias, layer.stride, layer.padding)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)
    assert bp.gradcheck(layer, x, rng=rng, eps=1e-6, rtol=1e-6, atol=1e-8, directions=4).passed


def test_feature_maps_stay_channels_last_forward_and_backward():
    """Conv -> ReLU -> MaxPool -> Conv -> Flatten keeps (N, H, W, C) memory, and so do the gradients."""
    rng = np.random.default_rng(6)
    model = bp.Sequential(
        Conv2d(1, 4, 3, padding=1, dtype=F64, rng=rng),
        bp.ReLU(),
        bp.MaxPool2d(2),
        Conv2d(4, 6, 3, padding=1, dtype=F64, rng=rng),
        bp.Flatten(),
    )
    x = rng.standard_normal((3, 1, 8, 8))
    outputs = [x]
    for layer in model:
        outputs.append(layer(outputs[-1]))
    for y in outputs[1:-1]:
        assert conv.channels_last(y).flags.c_contiguous, y.strides
    gy = rng.standard_normal(outputs[-1].shape)
    for layer, y in zip(reversed(model.layers[1:]), reversed(outputs[1:-1])):
        gy = layer.backward(gy)
        assert gy.shape == y.shape
        assert conv.channels_last(gy).strides[-1] == gy.itemsize, (layer, gy.strides)
    assert bp.gradcheck(model, x, rng=rng, eps=1e-6, rtol=1e-6, atol=1e-8, directions=4).passed


@pytest.mark.parametrize(("kernel", "padding"), [(3, 1), ((2, 3), (0, 2)), (3, 0)])
def test_stride_one_input_gradient_is_the_full_correlation(kernel, padding):
    """For stride 1 backward takes dL/dx as a convolution of gy; it equals the definition's sum."""
    rng = np.random.default_rng(8)
    layer = Conv2d(3, 4, kernel, 1, padding, dtype=F64, rng=rng)
    y = layer(rng.standard_normal((2, 3, 6, 7)))
    gy = rng.standard_normal(y.shape)
    gx = layer.backward(gy)
    np.testing.assert_array_equal(gx, conv.input_grad_by_convolution(gy, layer.weight, layer.padding))
    expected = np.zeros((2, 3, 6 + 2 * layer.padding[0], 7 + 2 * layer.padding[1]))
    kh, kw = layer.kernel_size
    for i in range(y.shape[2]):  # dL/dxp by the definition: each output pixel adds back onto its window
        for j in range(y.shape[3]):
            expected[:, :, i : i + kh, j : j + kw] += np.einsum("bo,oikl->bikl", gy[:, :, i, j], layer.weight)
    ph, pw = layer.padding
    np.testing.assert_allclose(gx, expected[:, :, ph : ph + 6, pw : pw + 7], rtol=1e-12, atol=1e-12)


def test_any_memory_layout_gives_the_same_result():
    rng = np.random.default_rng(4)
    layer = Conv2d(2, 3, 3, stride=2, padding=1, dtype=F64, rng=rng)
    x = rng.standard_normal((2, 2, 5, 6))
    y = layer(x)
    gy = rng.standard_normal(y.shape)
    gx, gW = layer.backward(gy), layer.grads["weight"].copy()

    def channel_first(a):  # the same values, stored as (C, N, H, W)
        return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)

    np.testing.assert_allclose(layer(channel_first(x)), y, rtol=1e-14)
    np.testing.assert_allclose(layer.backward(channel_first(gy)), gx, rtol=1e-14)
    np.testing.assert_allclose(layer.grads["weight"], gW, rtol=1e-14)


def test_dtypes_shapes_and_default_init():
    layer = Conv2d(3, 8, (3, 5), rng=0)
    assert layer.weight.shape == (8, 3, 3, 5) and layer.bias.shape == (8,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    bound = 1 / np.sqrt(3 * 3 * 5)
    assert bound * 0.9 < np.abs(layer.weight).max() <= bound
    assert np.abs(layer.bias).max() <= bound
    y = layer(np.ones((2, 3, 7, 9), np.float32))
    assert y.shape == (2, 8, 5, 5) and y.dtype == np.float32
    assert layer.backward(np.ones(y.shape, np.float32)).dtype == np.float32
    layer64 = Conv2d(3, 8, 3, dtype=F64)
    y64 = layer64(np.ones((1, 3, 4, 4)))
    assert y64.dtype == F64 and layer64.backward(np.ones(y64.shape)).dtype == F64
    np.testing.assert_array_equal(Conv2d(2, 2, 3, rng=7).weight, Conv2d(2, 2, 3, rng=7).weight)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "out"),
    [(28, 3, 1, 1, 28), (28, 5, 1, 0, 24), (7, 3, 2, 0, 3), (8, 3, 2, 0, 3), (8, 3, 2, 1, 4)],
)
def test_output_size_floors_as_pytorch(size, kernel, stride, padding, out):
    layer = Conv2d(1, 1, kernel, stride, padding)
    assert layer(np.zeros((1, 1, size, size), np.float32)).shape == (1, 1, out, out)


def test_config_is_json_and_rebuilds():
    layer = Conv2d(2, 4, (2, 3), stride=(1, 2), padding=1, bias=False, dtype=F64)
    config = layer.config()
    assert json.loads(json.dumps(config)) == config == {
        "in_channels": 2,
        "out_channels": 4,
        "kernel_size": [2, 3],
        "stride": [1, 2],
        "padding": 1,
        "bias": False,
        "dtype": "float64",
    }
    rebuilt = Conv2d(**config)
    assert str(rebuilt) == str(layer) == "Conv2d(2 -> 4, kernel 2x3, stride 1x2, padding 1)"
    assert repr(rebuilt).startswith("Conv2d(in_channels=2, out_channels=4, kernel_size=[2, 3]")


NAME = r"Conv2d\(1 -> 32, kernel 3x3, stride 1, padding 1\)"


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (np.zeros((32, 784), np.float32), ValueError, NAME + r": expected input of shape \(N, 1, H, W\), got \(32, 784\)"),
        (np.zeros((32, 3, 28, 28), np.float32), ValueError, NAME + r": expected input of shape \(N, 1, H, W\), got \(32, 3, 28, 28\)"),
        (np.zeros((32, 1, 28, 28), np.float64), TypeError, NAME + r": expected input of dtype float32.*got float64"),
        (np.zeros((0, 1, 28, 28), np.float32), ValueError, NAME + r": expected a batch of at least one sample"),
        ([[[[0.0]]]], TypeError, NAME + r": expected a numpy.ndarray, got list"),
    ],
)  # fmt: skip
def test_bad_input_names_layer_expected_and_given(x, error, message):
    with pytest.raises(error, match=message):
        Conv2d(1, 32, 3, padding=1)(x)


def test_input_smaller_than_kernel():
    message = r"Conv2d\(1 -> 2, kernel 5x5, stride 1, padding 1\): input of size 2x4 \(4x6 once padded\) is smaller than the kernel 5x5"
    with pytest.raises(ValueError, match=message):
        Conv2d(1, 2, 5, padding=1)(np.zeros((1, 1, 2, 4), np.float32))


def test_backward_errors():
    layer = Conv2d(1, 2, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(1 -> 2, kernel 3x3, stride 1, padding 0\): backward called before forward"):
        layer.backward(np.zeros((1, 2, 2, 2), np.float32))
    layer(np.zeros((1, 1, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d\(1 -> 2.*expected gradient of shape \(1, 2, 2, 3\).*got \(1, 2, 2, 2\)"):
        layer.backward(np.zeros((1, 2, 2, 2), np.float32))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_channels": 0}, r"Conv2d: in_channels must be a positive integer, got 0"),
        ({"out_channels": 2.5}, r"Conv2d: out_channels must be a positive integer, got 2.5"),
        ({"kernel_size": 0}, r"Conv2d: kernel_size must be a positive integer or a pair of them, got 0"),
        ({"kernel_size": (3,)}, r"kernel_size must be a positive integer or a pair of them, got \(3,\)"),
        ({"kernel_size": (3, 0)}, r"kernel_size must be .*got \(3, 0\)"),
        ({"kernel_size": "3"}, r"kernel_size must be .*got '3'"),
        ({"stride": 0}, r"Conv2d: stride must be a positive integer or a pair of them, got 0"),
        ({"padding": -1}, r"Conv2d: padding must be a non-negative integer or a pair of them, got -1"),
        ({"padding": (1, 1, 1)}, r"padding must be .*got \(1, 1, 1\)"),
    ],
)  # fmt: skip
def test_bad_constructor_arguments(kwargs, message):
    arguments = {"in_channels": 1, "out_channels": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        Conv2d(**arguments)


def test_bad_dtype():
    with pytest.raises(TypeError, match=r"Conv2d\(1 -> 2.*dtype must be float32 or float64, got int64"):
        Conv2d(1, 2, 3, dtype=np.int64)
