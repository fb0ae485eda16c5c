import json

import numpy as np
import pytest

import backprop as bp
from backprop.layers.pooling import MaxPool2d
from backprop.layers.shape import Flatten

F64 = np.float64
# The finite-difference check of tests/gradients.py, which these tests used before bp.gradcheck
# took its place: step 1e-6, relative tolerance 1e-6 (gradcheck's default is 1e-5), absolute 1e-8,
# four directions per quantity (it took one random direction and three coordinates).
GRADCHECK = {"eps": 1e-6, "rtol": 1e-6, "atol": 1e-8, "directions": 4}


def naive_maxpool2d(x, kernel, stride):
    """The definition, one window at a time; the gradient mask uses np.argmax (first max on ties)."""
    (kh, kw), (sy, sx) = kernel, stride
    ho = (x.shape[2] - kh) // sy + 1
    wo = (x.shape[3] - kw) // sx + 1
    y = np.zeros((*x.shape[:2], ho, wo), x.dtype)
    # mask[b, c, i, j] marks the one input that window (i, j) takes its maximum from
    mask = np.zeros((*x.shape[:2], ho, wo, *x.shape[2:]))
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(ho):
                for j in range(wo):
                    window = x[n, c, i * sy : i * sy + kh, j * sx : j * sx + kw]
                    p, q = divmod(int(np.argmax(window)), kw)
                    y[n, c, i, j] = window[p, q]
                    mask[n, c, i, j, i * sy + p, j * sx + q] = 1.0
    return y, mask


def naive_maxpool2d_backward(gy, mask):
    return np.einsum("ncij,ncijuv->ncuv", gy, mask)


def distinct(rng, shape):
    """Values at least 0.1 apart, so no maximum is within a finite-difference step of a tie."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1


# (shape, kernel, stride): tiling, sizes the window does not divide, overlapping, gaps
POOL_CASES = [
    ((2, 3, 4, 6), 2, None),
    ((1, 2, 5, 7), 2, None),
    ((3, 1, 9, 8), 3, None),
    ((1, 2, 6, 5), (2, 3), None),
    ((3, 2, 7, 9), 3, 2),
    ((2, 1, 6, 8), (2, 3), (1, 2)),
    ((1, 2, 8, 7), 2, 3),
    ((1, 1, 5, 5), 1, None),
]


@pytest.mark.parametrize(("shape", "kernel", "stride"), POOL_CASES)
def test_maxpool_forward_and_backward_match_naive_loop(shape, kernel, stride):
    rng = np.random.default_rng(0)
    layer = MaxPool2d(kernel, stride)
    x = distinct(rng, shape)
    y = layer(x)
    expected, mask = naive_maxpool2d(x, layer.kernel_size, layer.stride)
    np.testing.assert_array_equal(y, expected)
    gy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(layer.backward(gy), naive_maxpool2d_backward(gy, mask), rtol=1e-14)


@pytest.mark.parametrize(("shape", "kernel", "stride"), POOL_CASES)
def test_maxpool_ties_send_the_gradient_to_the_first_max_only(shape, kernel, stride):
    rng = np.random.default_rng(1)
    layer = MaxPool2d(kernel, stride)
    x = rng.integers(0, 3, size=shape).astype(F64)  # many ties
    y = layer(x)
    expected, mask = naive_maxpool2d(x, layer.kernel_size, layer.stride)
    np.testing.assert_array_equal(y, expected)
    gy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(layer.backward(gy), naive_maxpool2d_backward(gy, mask), rtol=1e-14)


def test_maxpool_ties_by_hand():
    x = np.array([[[[1.0, 3.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0]]]])
    layer = MaxPool2d(2)
    np.testing.assert_array_equal(layer(x), [[[[3.0, 0.0]]]])
    np.testing.assert_array_equal(layer.backward(np.array([[[[1.0, 2.0]]]])), [[[[0, 1, 2, 0], [0, 0, 0, 0]]]])


def test_maxpool_overlapping_windows_share_a_max():
    x = np.zeros((1, 1, 3, 5))
    x[0, 0, 1, 2] = 1.0  # in both 3x3 windows (columns 0-2 and 2-4)
    layer = MaxPool2d(3, 2)
    np.testing.assert_array_equal(layer(x), [[[[1.0, 1.0]]]])
    gx = layer.backward(np.array([[[[1.0, 10.0]]]]))
    assert gx[0, 0, 1, 2] == 11.0 and gx.sum() == 11.0


@pytest.mark.parametrize(("shape", "kernel", "stride"), POOL_CASES)
def test_maxpool_gradient_matches_finite_differences(shape, kernel, stride):
    rng = np.random.default_rng(2)
    bp.gradcheck(MaxPool2d(kernel, stride), distinct(rng, shape), rng=rng, **GRADCHECK)


@pytest.mark.parametrize("dtype", [np.float32, F64])
def test_maxpool_keeps_dtype_and_backward_sets(dtype):
    rng = np.random.default_rng(3)
    layer = MaxPool2d(3, 2)
    x = distinct(rng, (2, 2, 7, 6)).astype(dtype)
    y = layer(x)
    assert y.shape == (2, 2, 3, 2) and y.dtype == dtype
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = layer.backward(gy)
    assert gx.shape == x.shape and gx.dtype == dtype
    np.testing.assert_array_equal(layer.backward(gy), gx)
    assert layer.params == {} and layer.grads == {}


def test_maxpool_accepts_any_memory_layout():
    rng = np.random.default_rng(4)
    x = distinct(rng, (2, 3, 6, 4))
    transposed = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    layer = MaxPool2d(2)
    np.testing.assert_array_equal(layer(transposed), MaxPool2d(2)(x))


def test_maxpool_config_and_names():
    layer = MaxPool2d((2, 3), stride=(1, 2))
    config = layer.config()
    assert json.loads(json.dumps(config)) == config == {"kernel_size": [2, 3], "stride": [1, 2]}
    assert str(MaxPool2d(**config)) == "MaxPool2d(kernel 2x3, stride 1x2)"
    assert MaxPool2d(2).config() == {"kernel_size": 2, "stride": 2}
    assert repr(MaxPool2d(3, 2)) == "MaxPool2d(kernel_size=3, stride=2)"


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (np.zeros((2, 8, 8), np.float32), ValueError, r"MaxPool2d\(kernel 2x2, stride 2\): expected input of shape \(N, C, H, W\), got \(2, 8, 8\)"),
        (np.zeros((2, 1, 8, 8), np.int64), TypeError, r"MaxPool2d\(kernel 2x2, stride 2\): expected floating-point input, got int64"),
        (np.zeros((2, 1, 1, 8), np.float32), ValueError, r"MaxPool2d\(kernel 2x2, stride 2\): input of size 1x8 is smaller than the window 2x2"),
        (np.zeros((0, 1, 8, 8), np.float32), ValueError, r"MaxPool2d\(kernel 2x2, stride 2\): expected a batch of at least one sample"),
    ],
)  # fmt: skip
def test_maxpool_bad_input(x, error, message):
    with pytest.raises(error, match=message):
        MaxPool2d(2)(x)


def test_maxpool_backward_errors():
    layer = MaxPool2d(2)
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel 2x2, stride 2\): backward called before forward"):
        layer.backward(np.zeros((1, 1, 2, 2), np.float32))
    layer(np.zeros((1, 1, 5, 4), np.float32))
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel 2x2.*expected gradient of shape \(1, 1, 2, 2\).*got \(1, 1, 2, 3\)"):
        layer.backward(np.zeros((1, 1, 2, 3), np.float32))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0,), r"MaxPool2d: kernel_size must be a positive integer or a pair of them, got 0"),
        (((2, -1),), r"MaxPool2d: kernel_size must be .*got \(2, -1\)"),
        ((2.0,), r"MaxPool2d: kernel_size must be .*got 2.0"),
        ((2, 0), r"MaxPool2d: stride must be a positive integer or a pair of them, got 0"),
        ((2, (1, 2, 3)), r"MaxPool2d: stride must be .*got \(1, 2, 3\)"),
    ],
)
def test_maxpool_bad_constructor_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        MaxPool2d(*args)


def test_flatten_forward_backward():
    rng = np.random.default_rng(5)
    layer = Flatten()
    x = rng.standard_normal((3, 2, 4, 5))
    y = layer(x)
    np.testing.assert_array_equal(y, x.reshape(3, 40))
    assert y[1, 2 * 20 - 1] == x[1, 1, 3, 4]  # row-major, as torch.nn.Flatten
    gy = rng.standard_normal(y.shape)
    gx = layer.backward(gy)
    np.testing.assert_array_equal(gx, gy.reshape(x.shape))
    np.testing.assert_array_equal(layer.backward(gy), gx)
    assert layer(np.zeros((2, 3), np.float32)).shape == (2, 3)
    assert layer(np.zeros((2, 3, 1), np.float32)).dtype == np.float32


def test_flatten_gradient_matches_finite_differences():
    rng = np.random.default_rng(6)
    bp.gradcheck(Flatten(), rng.standard_normal((2, 3, 2, 2)), rng=rng, **GRADCHECK)


def test_flatten_errors():
    layer = Flatten()
    assert str(layer) == "Flatten()" and layer.config() == {}
    with pytest.raises(ValueError, match=r"Flatten\(\): backward called before forward"):
        layer.backward(np.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"Flatten\(\): expected input of shape \(N, \.\.\.\) with at least 2 axes, got \(5,\)"):
        layer(np.zeros(5))
    with pytest.raises(TypeError, match=r"Flatten\(\): expected floating-point input, got int64"):
        layer(np.zeros((2, 3), np.int64))
    layer(np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match=r"Flatten\(\): expected gradient of shape \(2, 6\).*got \(2, 3, 2\)"):
        layer.backward(np.zeros((2, 3, 2)))


@pytest.mark.parametrize(("shape", "kernel", "stride"), POOL_CASES)
@pytest.mark.parametrize("padding", [0, 1])
def test_maxpool_in_eval_takes_the_maximum_alone_and_a_backward_after_it_still_works(shape, kernel, stride, padding):
    rng = np.random.default_rng(3)
    padding = min(padding, int(np.min(kernel)) // 2)  # at most half the window (a 1x1 window: none)
    x = rng.integers(0, 3, size=shape).astype(F64)  # many ties: the first max gets the gradient
    trained, evaluated = MaxPool2d(kernel, stride, padding), MaxPool2d(kernel, stride, padding).eval()
    y = evaluated(x)
    np.testing.assert_array_equal(y, trained(x))
    assert evaluated._argmax is None  # no positions kept in eval()
    gy = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(evaluated.backward(gy), trained.backward(gy))
