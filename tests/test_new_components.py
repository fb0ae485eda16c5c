"""LeakyReLU, GELU, AvgPool2d and GlobalAvgPool2d: by hand, by finite differences, against PyTorch,
and everywhere a layer goes (Sequential, bp.save/bp.load, bp.fit, bp.explain, the page's layer view)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import backprop as bp
from backprop.web.drawing import HIDDEN_ACTIVATIONS

F64 = np.float64


def away_from_kinks(rng, shape):
    """Inputs at least 0.05 from 0, where LeakyReLU's derivative jumps (finite differences cross it)."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.05, 0.05 * np.sign(x) + x, x)


# --- LeakyReLU and GELU ------------------------------------------------------------------------


def test_leaky_relu_by_hand():
    layer = bp.LeakyReLU(0.1)
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(layer(x), [[-0.2, 0.0, 3.0]])
    np.testing.assert_array_equal(layer.backward(np.array([[1.0, 1.0, 1.0]])), [[0.1, 0.1, 1.0]])
    negative = bp.LeakyReLU(-0.5)  # a negative slope: the input, not the output, picks the piece
    negative(np.array([[-2.0, 2.0]]))
    np.testing.assert_array_equal(negative.backward(np.ones((1, 2))), [[-0.5, 1.0]])
    assert str(bp.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


def test_gelu_by_hand_and_in_the_left_tail():
    layer = bp.GELU()
    x = np.array([[-10.0, -1.0, 0.0, 1.0, 2.0]])
    phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x[0]])
    np.testing.assert_allclose(layer(x)[0], x[0] * phi, rtol=1e-14, atol=0)
    density = np.exp(-x[0] ** 2 / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(layer.backward(np.ones_like(x))[0], phi + x[0] * density, rtol=1e-13, atol=0)
    # x Phi(x) at x = -10 is -7.6e-23: exact to the last digits (with 1 + erf it would be 0)
    assert layer(np.array([[-10.0]]))[0, 0] == pytest.approx(-10 * 0.5 * math.erfc(10 / math.sqrt(2)), rel=1e-14)
    tanh = bp.GELU("tanh")
    inner = math.sqrt(2 / math.pi) * (1.0 + 0.044715)
    assert tanh(np.array([[1.0]]))[0, 0] == pytest.approx(0.5 * (1 + math.tanh(inner)), rel=1e-15)


@pytest.mark.parametrize(
    "make", [lambda: bp.LeakyReLU(0.2), lambda: bp.LeakyReLU(-0.3), bp.GELU, lambda: bp.GELU("tanh")],
    ids=["leaky", "leaky-negative", "gelu", "gelu-tanh"],
)
def test_new_activations_match_finite_differences(make):
    rng = np.random.default_rng(0)
    assert bp.gradcheck(make(), away_from_kinks(rng, (4, 3, 5)), rng=rng).passed


@pytest.mark.parametrize("make", [bp.LeakyReLU, bp.GELU, lambda: bp.GELU("tanh")], ids=["leaky", "gelu", "gelu-tanh"])
def test_new_activations_keep_float32(make):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    layer = make()
    assert layer(x).dtype == np.float32 and layer.backward(np.ones_like(x)).dtype == np.float32


def test_new_activations_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"^LeakyReLU: negative_slope must be a number, got 'a'$"):
        bp.LeakyReLU("a")
    with pytest.raises(ValueError, match=r"^GELU: approximate must be 'none' or 'tanh', got 'erf'$"):
        bp.GELU("erf")


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: bp.LeakyReLU(0.05), lambda torch, x: torch.nn.functional.leaky_relu(x, 0.05)),
        (bp.GELU, lambda torch, x: torch.nn.functional.gelu(x)),
        (lambda: bp.GELU("tanh"), lambda torch, x: torch.nn.functional.gelu(x, approximate="tanh")),
    ],
    ids=["leaky", "gelu", "gelu-tanh"],
)
def test_new_activations_match_pytorch_in_float64(ours, theirs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 5, 4)) * 4
    gy = rng.standard_normal(x.shape)
    layer = ours()
    y, gx = layer(x), layer.backward(gy)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(torch, xt)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


# --- AvgPool2d and GlobalAvgPool2d ----------------------------------------------------------------


def test_avgpool_by_hand():
    x = np.arange(16, dtype=F64).reshape(1, 1, 4, 4)
    pool = bp.AvgPool2d(2)
    np.testing.assert_array_equal(pool(x)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 2, 2))), np.full((1, 1, 4, 4), 0.25))
    padded = bp.AvgPool2d(3, stride=1, padding=1)  # the corner's window holds 5 zeros of padding
    assert padded(x)[0, 0, 0, 0] == pytest.approx((0 + 1 + 4 + 5) / 9)
    assert str(padded) == "AvgPool2d(kernel 3x3, stride 1, padding 1)"


CASES = [
    (2, None, 0, (6, 8)),
    (3, 2, 1, (7, 5)),
    ((3, 2), (2, 1), (1, 0), (5, 6)),
    (3, 1, 1, (1, 1)),
    # windows apart (stride >= window) but not tiling the map: the pixels no window reads get 0
    (2, None, 0, (7, 5)),
    (2, 3, 0, (7, 8)),
    (2, 2, 1, (5, 7)),
]


@pytest.mark.parametrize(("kernel", "stride", "padding", "hw"), CASES)
def test_avgpool_matches_finite_differences(kernel, stride, padding, hw):
    rng = np.random.default_rng(2)
    assert bp.gradcheck(bp.AvgPool2d(kernel, stride, padding), rng.standard_normal((2, 3, *hw)), rng=rng).passed


def test_global_avgpool_by_hand_and_by_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5))
    layer = bp.GlobalAvgPool2d()
    np.testing.assert_allclose(layer(x), x.mean(axis=(2, 3)), rtol=1e-15)
    np.testing.assert_array_equal(layer.backward(np.ones((2, 3))), np.full(x.shape, 1 / 20))
    assert bp.gradcheck(layer, x, rng=rng).passed


def test_global_avgpool_gives_its_gradient_in_the_maps_layout():
    rng = np.random.default_rng(4)
    x = np.ascontiguousarray(rng.standard_normal((2, 4, 5, 3))).transpose(0, 3, 1, 2)  # channels-last
    layer = bp.GlobalAvgPool2d()
    layer(x)
    gy = rng.standard_normal((2, 3))
    gx = layer.backward(gy)
    np.testing.assert_array_equal(gx, np.broadcast_to(gy[:, :, None, None] * (1 / 20), x.shape))
    assert gx.transpose(0, 2, 3, 1).flags.c_contiguous
    layer(np.ascontiguousarray(x))
    assert layer.backward(gy).flags.c_contiguous


@pytest.mark.parametrize("layout", ["nchw", "channels-last", "features"])
def test_per_channel_vectors_broadcast_to_the_same_values_in_every_layout(layout):
    from backprop.layers.channels import channel_sum, per_channel

    rng = np.random.default_rng(5)
    if layout == "features":
        x = rng.standard_normal((6, 3))
    else:
        x = rng.standard_normal((2, 3, 4, 5))
        if layout == "channels-last":
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    v = rng.standard_normal(3)
    expected = x - v.reshape((1, 3) + (1,) * (x.ndim - 2))
    np.testing.assert_array_equal(x - per_channel(v, x), expected)
    axes = tuple(a for a in range(x.ndim) if a != 1)
    np.testing.assert_allclose(channel_sum(x), x.sum(axis=axes), rtol=1e-13)
    np.testing.assert_allclose(channel_sum(x, x), (x * x).sum(axis=axes), rtol=1e-13)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels-last"])
@pytest.mark.parametrize(("kernel", "stride", "padding", "hw"), CASES)
def test_avgpool_matches_pytorch_in_float64(kernel, stride, padding, hw, channels_last):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, *hw))
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    pool = bp.AvgPool2d(kernel, stride, padding)
    y = pool(x)
    gy = rng.standard_normal(y.shape)
    gx = pool.backward(gy)
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = torch.nn.functional.avg_pool2d(xt, kernel, kernel if stride is None else stride, padding, count_include_pad=True)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    global_pool = bp.GlobalAvgPool2d()
    np.testing.assert_allclose(global_pool(x), torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), 1).numpy()[:, :, 0, 0], rtol=1e-13)


def test_avgpool_refuses_bad_arguments_and_small_maps():
    with pytest.raises(ValueError, match=r"^AvgPool2d: padding must be at most half the window \(2, 2\), got \(2, 2\)$"):
        bp.AvgPool2d(2, padding=2)
    with pytest.raises(ValueError, match=r"^AvgPool2d: kernel_size must be a positive integer or a pair of them, got 0$"):
        bp.AvgPool2d(0)
    with pytest.raises(ValueError, match=r"AvgPool2d\(kernel 3x3, stride 3\): input of size 2x2 \(padded by 0x0\) is smaller than the window 3x3"):
        bp.AvgPool2d(3)(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"GlobalAvgPool2d\(\): expected input of shape \(N, C, H, W\), got \(2, 3\)"):
        bp.GlobalAvgPool2d()(np.zeros((2, 3)))


# --- everywhere a layer goes ---------------------------------------------------------------------


def small_cnn(dtype=F64):
    return bp.Sequential(
        bp.Conv2d(1, 4, 3, padding=1, dtype=dtype, rng=0), bp.GELU(), bp.AvgPool2d(2),
        bp.Conv2d(4, 6, 3, padding=1, dtype=dtype, rng=1), bp.LeakyReLU(0.1), bp.AvgPool2d(3, 1, 1),
        bp.GlobalAvgPool2d(), bp.Linear(6, 3, dtype=dtype, rng=2),
    )


def test_a_network_of_the_new_components_checks_saves_loads_trains_and_explains(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 1, 8, 8))
    y = rng.integers(0, 3, 4)
    model = small_cnn()
    assert bp.gradcheck(model, x, y, loss=bp.SoftmaxCrossEntropy(), rng=rng).passed
    bp.save(model, tmp_path / "model.safetensors")
    loaded = bp.load(tmp_path / "model.safetensors")
    assert str(loaded) == str(model)
    np.testing.assert_array_equal(bp.predict(loaded, x), bp.predict(model, x))
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.Adam(model, 0.01), x, y, epochs=20, batch_size=None, progress=False)
    assert history["loss"][-1] < history["loss"][0]
    text = bp.explain(small_cnn(), bp.SoftmaxCrossEntropy(), x[:2], y[:2], apply=False)
    assert "a_1 = GELU(z_1)" in text and "GELU'(z_1) = Phi(z_1) + z_1 phi(z_1)" in text
    assert "LeakyReLU'(z_2) = [z_2 > 0] + 0.1 [z_2 <= 0]" in text
    assert "m_1 = avgpool(a_1)" in text and "g_2 = globalavgpool(m_2)" in text
    assert bp.LeakyReLU in HIDDEN_ACTIVATIONS and bp.GELU in HIDDEN_ACTIVATIONS


# --- LayerNorm --------------------------------------------------------------------------------------


def test_layer_norm_by_hand():
    layer = bp.LayerNorm(4, eps=1e-5, dtype=F64)
    x = np.array([[1.0, 2.0, 3.0, 6.0]])
    mean, std = 3.0, math.sqrt((4 + 1 + 0 + 9) / 4 + 1e-5)
    np.testing.assert_allclose(layer(x), (x - mean) / std, rtol=1e-15)
    # a gradient along the normalised output is taken out but for eps's share: x_hat eps / ((var + eps) s)
    x_hat = (x - mean) / std
    np.testing.assert_allclose(layer.backward(x_hat), x_hat * 1e-5 / (std**2 * std), rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), 0, atol=1e-15)  # nor does a shift
    assert str(bp.LayerNorm((3, 5))) == "LayerNorm(3, 5)" and bp.LayerNorm(3).params["weight"].dtype == np.float32


@pytest.mark.parametrize(("shape", "normalized"), [((4, 7), 7), ((3, 5, 4, 6), (4, 6)), ((1, 10), 10)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_finite_differences_and_pytorch(shape, normalized, affine):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape) * 3 + 1
    layer = bp.LayerNorm(normalized, elementwise_affine=affine, dtype=F64)
    for array in layer.params.values():
        array[...] = rng.standard_normal(array.shape)
    assert bp.gradcheck(layer, x, rng=rng).passed
    torch = pytest.importorskip("torch")
    y = layer(x)
    gy = rng.standard_normal(y.shape)
    gx = layer.backward(gy)
    xt = torch.tensor(x, requires_grad=True)
    weight = bias = None
    if affine:
        weight = torch.tensor(layer.params["weight"], requires_grad=True)
        bias = torch.tensor(layer.params["bias"], requires_grad=True)
    yt = torch.nn.functional.layer_norm(xt, layer.normalized_shape, weight, bias, 1e-5)
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if affine:
        np.testing.assert_allclose(layer.grads["weight"], weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.grads["bias"], bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_norm_refuses_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match=r"^LayerNorm: normalized_shape must be a positive integer or a sequence of them, got \(4, 0\)$"):
        bp.LayerNorm((4, 0))
    with pytest.raises(ValueError, match=r"^LayerNorm: eps must be a positive number, got 0$"):
        bp.LayerNorm(4, eps=0)
    with pytest.raises(ValueError, match=r"LayerNorm\(4\): expected input of shape \(N, \.\.\., 4\), got \(2, 5\)"):
        bp.LayerNorm(4)(np.zeros((2, 5), np.float32))


# --- Residual ------------------------------------------------------------------------------------------


def residual_network(dtype=F64):
    block = bp.Sequential(
        bp.Conv2d(4, 8, 3, stride=2, padding=1, dtype=dtype, rng=0), bp.LayerNorm((8, 3, 3), dtype=dtype),
        bp.ReLU(), bp.Conv2d(8, 8, 3, padding=1, dtype=dtype, rng=1),
    )
    return bp.Sequential(
        bp.Conv2d(1, 4, 3, padding=1, dtype=dtype, rng=3), bp.ReLU(),
        bp.Residual(bp.Sequential(bp.Conv2d(4, 4, 3, padding=1, dtype=dtype, rng=4), bp.GELU())),
        bp.Residual(block, shortcut=bp.Conv2d(4, 8, 1, stride=2, dtype=dtype, rng=2)),
        bp.GlobalAvgPool2d(), bp.Linear(8, 3, dtype=dtype, rng=5),
    )


def test_residual_by_hand():
    layer = bp.Linear(2, 2, bias=False, dtype=F64, rng=0)
    layer.params["weight"][...] = [[1.0, 2.0], [3.0, 4.0]]
    residual = bp.Residual(layer)
    x = np.array([[1.0, -1.0]])
    np.testing.assert_array_equal(residual(x), x + x @ layer.weight.T)  # [[1 - 1, -1 - 1]]
    gy = np.array([[1.0, 0.5]])
    np.testing.assert_array_equal(residual.backward(gy), gy + gy @ layer.weight)  # the identity's I, plus W^T
    np.testing.assert_array_equal(residual.grads["block.weight"], gy.T @ x)
    assert list(residual.params) == ["block.weight"] and residual.params["block.weight"] is layer.weight


def test_a_residual_network_checks_saves_loads_copies_and_trains(tmp_path):
    import pickle

    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 1, 6, 6))
    y = rng.integers(0, 3, 3)
    model = residual_network()
    assert bp.gradcheck(model, x, y, loss=bp.SoftmaxCrossEntropy(), rng=rng).passed
    assert "3.block.1.weight" in model.params and "3.shortcut.weight" in model.params
    bp.save(model, tmp_path / "resnet.safetensors")
    loaded = bp.load(tmp_path / "resnet.safetensors")
    assert str(loaded) == str(model)
    np.testing.assert_array_equal(bp.predict(loaded, x), bp.predict(model, x))
    optimizer = bp.SGD(model, 0.05, momentum=0.9)
    twin, twin_optimizer = pickle.loads(pickle.dumps((model, optimizer)))
    runs = [bp.fit(m, bp.SoftmaxCrossEntropy(), o, x, y, epochs=4, batch_size=None, progress=False)["loss"]
            for m, o in ((model, optimizer), (twin, twin_optimizer))]
    assert runs[0] == runs[1] and runs[0][-1] < runs[0][0]
    for name, array in model.params.items():
        np.testing.assert_array_equal(twin.params[name], array)  # the copy's optimiser moved the copy's arrays
    with pytest.raises(ValueError, match=r"Residual\(Linear\(3 -> 4\)\): the block gives \(2, 4\), but the input gives \(2, 3\): a sum needs one shape; give the Residual a shortcut"):
        bp.Residual(bp.Linear(3, 4, rng=0))(np.zeros((2, 3), np.float32))


def test_a_residual_block_matches_pytorch_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 4, 6, 5))
    conv1, conv2 = bp.Conv2d(4, 8, 3, stride=2, padding=1, dtype=F64, rng=0), bp.Conv2d(8, 8, 3, padding=1, dtype=F64, rng=1)
    projection = bp.Conv2d(4, 8, 1, stride=2, dtype=F64, rng=2)
    residual = bp.Residual(bp.Sequential(conv1, bp.ReLU(), conv2), shortcut=projection)
    y = residual(x)
    gy = rng.standard_normal(y.shape)
    gx = residual.backward(gy)
    tensors = {name: torch.tensor(array, requires_grad=True) for name, array in residual.params.items()}
    xt = torch.tensor(x, requires_grad=True)
    f = torch.nn.functional
    hidden = f.relu(f.conv2d(xt, tensors["block.0.weight"], tensors["block.0.bias"], stride=2, padding=1))
    out = f.conv2d(hidden, tensors["block.2.weight"], tensors["block.2.bias"], padding=1)
    out = out + f.conv2d(xt, tensors["shortcut.weight"], tensors["shortcut.bias"], stride=2)
    out.backward(torch.tensor(gy))
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, tensor in tensors.items():
        np.testing.assert_allclose(residual.grads[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


# --- MaxPool2d's padding ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kernel", "stride", "padding", "hw"), [(3, 2, 1, (7, 6)), (2, 2, 1, (5, 5)), ((3, 2), 1, (1, 1), (4, 5))])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels-last"])
def test_padded_maxpool_matches_finite_differences_and_pytorch(kernel, stride, padding, hw, channels_last):
    rng = np.random.default_rng(9)
    x = rng.permutation(2 * 3 * hw[0] * hw[1]).reshape(2, 3, *hw) / 100.0  # distinct: no ties
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    pool = bp.MaxPool2d(kernel, stride, padding)
    assert bp.gradcheck(pool, x, rng=rng).passed
    torch = pytest.importorskip("torch")
    y = pool(x)
    gy = rng.standard_normal(y.shape)
    gx = pool.backward(gy)
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, kernel, stride, padding)
    yt.backward(torch.tensor(gy))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_padded_maxpool_saves_refuses_too_much_padding_and_is_not_fused(tmp_path):
    model = bp.Sequential(bp.Conv2d(1, 2, 3, padding=1, dtype=F64, rng=0), bp.ReLU(), bp.MaxPool2d(3, 2, 1))
    assert len(model.steps) == 3  # the fused Conv2d-ReLU-MaxPool2d block takes unpadded pools only
    x = np.random.default_rng(10).standard_normal((2, 1, 5, 5))
    bp.save(model, tmp_path / "m.safetensors")
    loaded = bp.load(tmp_path / "m.safetensors")
    assert str(loaded[2]) == "MaxPool2d(kernel 3x3, stride 2, padding 1)"
    np.testing.assert_array_equal(bp.predict(loaded, x), bp.predict(model, x))
    assert bp.MaxPool2d(2).config() == {"kernel_size": 2, "stride": 2}  # files of unpadded pools unchanged
    with pytest.raises(ValueError, match=r"^MaxPool2d: padding must be at most half the window \(2, 2\), got \(2, 2\)$"):
        bp.MaxPool2d(2, padding=2)


# --- BatchNorm1d and BatchNorm2d -----------------------------------------------------------------------


def randomised(layer, rng):
    for array in layer.params.values():
        array[...] = rng.standard_normal(array.shape)
    return layer


def test_batch_norm_by_hand():
    layer = bp.BatchNorm1d(2, momentum=0.5, dtype=F64)
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])
    mean, var = np.array([3.0, 12.0]), np.array([8 / 3, 8.0])
    np.testing.assert_allclose(layer(x), (x - mean) / np.sqrt(var + 1e-5), rtol=1e-14)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.5 * mean, rtol=1e-15)
    np.testing.assert_allclose(layer.buffers["running_var"], 0.5 + 0.5 * var * 3 / 2, rtol=1e-15)  # unbiased
    assert layer.num_batches_tracked == 1
    layer.eval()
    np.testing.assert_allclose(layer(x), (x - 0.5 * mean) / np.sqrt(0.5 + 0.75 * var + 1e-5), rtol=1e-14)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(2\): expected more than 1 value per channel in training, got input of shape \(1, 2\)"):
        layer.train()(x[:1])
    assert layer.eval()(x[:1]).shape == (1, 2)  # a single sample is fine with the running statistics


@pytest.mark.parametrize(
    ("make", "shape"),
    [(lambda: bp.BatchNorm1d(5, dtype=F64), (8, 5)), (lambda: bp.BatchNorm1d(5, dtype=F64), (6, 5, 7)),
     (lambda: bp.BatchNorm2d(5, dtype=F64), (4, 5, 6, 3)), (lambda: bp.BatchNorm2d(5, affine=False, dtype=F64), (2, 5, 3, 3))],
    ids=["1d", "1d-sequence", "2d", "2d-no-affine"],
)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_norm_matches_finite_differences(make, shape, mode):
    rng = np.random.default_rng(11)
    layer = randomised(make(), rng)
    x = rng.standard_normal(shape) * 2 + 1
    layer(x)  # running statistics away from the start's 0 and 1
    if mode == "eval":
        layer.eval()
    assert bp.gradcheck(layer, x, rng=rng).passed


@pytest.mark.parametrize(
    ("ours", "theirs", "shape", "channels_last", "momentum"),
    [
        (bp.BatchNorm1d, "BatchNorm1d", (8, 5), False, 0.1),
        (bp.BatchNorm1d, "BatchNorm1d", (6, 5, 7), False, 0.3),
        (bp.BatchNorm2d, "BatchNorm2d", (4, 5, 6, 3), False, 0.1),
        (bp.BatchNorm2d, "BatchNorm2d", (4, 5, 6, 3), True, 0.1),
        (bp.BatchNorm2d, "BatchNorm2d", (2, 5, 1, 1), False, None),
    ],
    ids=["1d", "1d-sequence", "2d", "2d-channels-last", "2d-cumulative"],
)
def test_batch_norm_matches_pytorch_in_both_modes_and_its_running_statistics(ours, theirs, shape, channels_last, momentum):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    layer = randomised(ours(5, momentum=momentum, dtype=F64), rng)
    reference = getattr(torch.nn, theirs)(5, momentum=momentum).double()
    reference.weight.data = torch.tensor(layer.params["weight"].copy())
    reference.bias.data = torch.tensor(layer.params["bias"].copy())
    for mode in ("train", "train", "train", "eval"):
        layer.train(mode == "train")
        reference.train(mode == "train")
        x = rng.standard_normal(shape) * 2 + 1
        if channels_last:
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        y = layer(x)
        gy = rng.standard_normal(y.shape)
        gx = layer.backward(gy)
        xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
        reference.zero_grad()
        yt = reference(xt)
        yt.backward(torch.tensor(gy))
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.grads["weight"], reference.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.grads["bias"], reference.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.buffers["running_mean"], reference.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(layer.buffers["running_var"], reference.running_var.numpy(), rtol=1e-12)
    assert layer.num_batches_tracked == int(reference.num_batches_tracked) == 3


def bn_network():
    return bp.Sequential(
        bp.Conv2d(1, 4, 3, padding=1, dtype=F64, rng=0), bp.BatchNorm2d(4, dtype=F64), bp.ReLU(),
        bp.Residual(bp.Sequential(bp.Conv2d(4, 4, 3, padding=1, dtype=F64, rng=1), bp.BatchNorm2d(4, dtype=F64))),
        bp.GlobalAvgPool2d(), bp.Linear(4, 3, dtype=F64, rng=2),
    )


def test_batch_norm_state_goes_into_model_files_and_checkpoints_and_resume_is_bit_identical(tmp_path):
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((12, 1, 6, 6)), rng.integers(0, 3, 12)

    class CrashError(Exception):
        pass

    def run(crash_after=None, **checkpointing):
        model = bn_network()
        optimizer = bp.SGD(model, 0.05, momentum=0.9)

        def crash(state):
            if crash_after is not None and state.epoch == crash_after:
                raise CrashError

        bp.fit(model, bp.SoftmaxCrossEntropy(), optimizer, x, y, epochs=4, batch_size=4, seed=1,
               progress=False, callbacks=[crash], **checkpointing)
        return model

    straight = run()
    assert set(straight.buffers) == {"1.running_mean", "1.running_var", "3.block.1.running_mean", "3.block.1.running_var"}
    assert straight.buffers["1.running_mean"].any()  # the running statistics moved
    with pytest.raises(CrashError):  # killed after epoch 2, its checkpoint written
        run(crash_after=2, checkpoint=tmp_path / "ck.safetensors")
    resumed = run(resume=tmp_path / "ck.safetensors")
    for name in straight.params:
        np.testing.assert_array_equal(resumed.params[name], straight.params[name])
    for name in straight.buffers:
        np.testing.assert_array_equal(resumed.buffers[name], straight.buffers[name])
    assert resumed[1].num_batches_tracked == straight[1].num_batches_tracked == 12
    bp.save(straight, tmp_path / "bn.safetensors")
    loaded = bp.load(tmp_path / "bn.safetensors")
    for name in straight.buffers:
        np.testing.assert_array_equal(loaded.buffers[name], straight.buffers[name])
    np.testing.assert_array_equal(bp.predict(loaded, x), bp.predict(straight, x))  # eval(): the running statistics
    assert "BatchNorm2d" in bp.explain(bn_network(), bp.SoftmaxCrossEntropy(), x[:4], y[:4], apply=False)


def test_batch_norm_refuses_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match=r"^BatchNorm2d: momentum must be a number in \[0, 1\] or None, got 2$"):
        bp.BatchNorm2d(3, momentum=2)
    with pytest.raises(ValueError, match=r"^BatchNorm1d: num_features must be a positive integer, got 0$"):
        bp.BatchNorm1d(0)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected 3 channels \(axis 1\), got input of shape \(2, 4, 5, 5\)"):
        bp.BatchNorm2d(3)(np.zeros((2, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input of shape \(N, C, H, W\), got \(2, 3\)"):
        bp.BatchNorm2d(3)(np.zeros((2, 3), np.float32))
    layer = bp.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\), got \(4,\)"):
        layer.load_extra_state({"running_mean": np.zeros(4), "running_var": np.ones(3), "num_batches_tracked": 0})


def test_early_stopping_restores_the_best_epochs_running_statistics_with_its_weights():
    rng = np.random.default_rng(14)
    x, y = rng.standard_normal((24, 1, 6, 6)), rng.integers(0, 3, 24)
    model = bn_network()
    seen = []
    history = bp.fit(
        model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.5, momentum=0.9), x[:16], y[:16], epochs=12,
        batch_size=4, validation_data=(x[16:], y[16:]), patience=2, progress=False,
        callbacks=[lambda state: seen.append((dict(state.model.state_dict()), {k: v.copy() for k, v in state.model.buffers.items()}))],
    )
    best = history.best_epoch
    assert best < len(seen)  # it stopped, or kept, at an earlier epoch than the last
    weights, buffers = seen[best - 1]
    for name, array in model.buffers.items():
        np.testing.assert_array_equal(array, buffers[name])
    for name, array in model.params.items():
        np.testing.assert_array_equal(array, weights[name])
