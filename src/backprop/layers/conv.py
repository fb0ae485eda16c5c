"""2D convolution (cross-correlation, as in PyTorch and Chainer) by im2col and one matrix product.

Notation, fixed once as in Chainer's ``convolution_2d``: ``n`` the batch size, ``c_I`` and
``c_O`` the input and output channels, ``h_I x w_I`` the input size, ``h_K x w_K`` the kernel
size, ``s_Y, s_X`` the strides, ``p_H, p_W`` the zero padding and ``h_O x w_O`` the output
size::

    h_O = floor((h_I + 2 p_H - h_K) / s_Y) + 1        w_O = floor((w_I + 2 p_W - w_K) / s_X) + 1

With ``xp`` the input zero-padded by ``p_H`` rows and ``p_W`` columns on each side, and the
seeds' indices (``b`` sample, ``oc``/``ic`` channels, ``i, j`` output pixel, ``i', j'`` kernel
offset)::

    y[b,oc,i,j] = sum_{ic,i',j'} w[oc,ic,i',j'] xp[b,ic, s_Y i + i', s_X j + j'] + bias[oc]

im2col lays the input out as a matrix ``X`` of shape ``(n h_O w_O, h_K w_K c_I)``, one row per
output pixel, with ``X[(b,i,j), (i',j',ic)] = xp[b,ic, s_Y i + i', s_X j + j']``; with ``W``
the weight laid out as the ``(h_K w_K c_I, c_O)`` matrix to match, the whole forward is
``Y = X W + bias``, a Linear layer applied to every row. Its backward is therefore Linear's:
``gW = X^T gY``, ``gbias = 1^T gY``, ``gX = gY W^T``, and col2im adds each entry of ``gX`` back
onto the pixel it was copied from.

Feature maps are kept channels-last in memory (``(n, h, w, c)``, shown as ``(n, c, h, w)``
through strides, as PyTorch's ``channels_last``): the rows of ``Y`` are then the output
itself, and the next convolution's im2col copies contiguous runs of ``c`` channels. The
columns are made and multiplied in blocks of a few samples that fit a core's cache, and
backward makes them again from the padded input instead of keeping them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import DTypeLike

from .. import blas, validation
from ..dtypes import resolve_dtype
from ..init import default_weight_and_bias
from ..random import as_generator
from .base import Layer
from .windows import Pair, as_pair, describe_pair, offset_view, output_size, pair_config

# Each block of im2col columns is sized to stay in a core's L2 cache while its matrix product
# reads it: measured on the benchmark's conv2, blocks of 256-4,096 rows ran OpenBLAS at 94-99
# GFLOP/s against 75-82 for the whole (12,544 x 288) matrix at once. With several BLAS threads
# a block is that much per thread (each thread multiplies its share of the rows): on 2 cores the
# W2 epoch went from 1.07x to 1.12-1.17x the one-thread speed with it.
BLOCK_BYTES = 1 << 19


def channels_last(x: np.ndarray) -> np.ndarray:
    """The ``(n, h, w, c)`` view of an ``(n, c, h, w)`` array: C-contiguous if ``x`` is channels-last."""
    return x.transpose(0, 2, 3, 1)


def _padded(x: np.ndarray, padding: Pair) -> np.ndarray:
    """``xp``: ``x`` zero-padded, in ``(n, h_I + 2 p_H, w_I + 2 p_W, c_I)`` memory (a view if no padding)."""
    (ph, pw), (n, c, h, w) = padding, x.shape
    if not (ph or pw):
        return channels_last(x)
    xp = np.empty((n, h + 2 * ph, w + 2 * pw, c), x.dtype)
    xp[:, :ph] = xp[:, ph + h :] = 0
    xp[:, :, :pw] = xp[:, :, pw + w :] = 0
    xp[:, ph : ph + h, pw : pw + w] = channels_last(x)
    return xp


def _block_size(rows_per_sample: int, row_bytes: int) -> int:
    """How many samples' im2col rows make a block of about ``BLOCK_BYTES`` per BLAS thread (at least one).

    The block, and so the grouping of the weight gradient's sum, follows the thread count: a
    seed gives the same bits run after run at one thread count, as BLAS's own threading does.
    """
    return max(1, BLOCK_BYTES * blas.threads() // (rows_per_sample * row_bytes))


def _windows(xp: np.ndarray, kernel: Pair, stride: Pair, transposed: bool) -> np.ndarray:
    """A strided view of ``xp`` (no copy) laid out as the columns: what ``_im2col`` copies from.

    ``(n, h_O, w_O, h_K, w_K, c_I)`` holding ``xp[b, s_Y i + i', s_X j + j', ic]``, or with
    ``transposed`` the same values as ``(h_K, w_K, c_I, n, h_O, w_O)``. Made once per call,
    then sliced per block, with ``as_strided`` from the strides worked out here: NumPy's
    ``sliding_window_view`` checks and wraps its way to the same view in 40 microseconds, a
    tenth of a one-image prediction.
    """
    (kh, kw), (sy, sx) = kernel, stride
    n, hp, wp, c = xp.shape
    ho, wo = (hp - kh) // sy + 1, (wp - kw) // sx + 1
    b_, y_, x_, c_ = xp.strides
    # windows[b, i, j, i', j', ic] = xp[b, s_Y i + i', s_X j + j', ic]
    windows = as_strided(
        xp, (n, ho, wo, kh, kw, c), (b_, sy * y_, sx * x_, y_, x_, c_), writeable=False
    )
    return windows.transpose(3, 4, 5, 0, 1, 2) if transposed else windows


def _im2col(
    windows: np.ndarray, first: int, stop: int, out: np.ndarray, transposed: bool
) -> np.ndarray:
    """Copy samples ``first:stop`` of ``windows`` into the flat buffer ``out``; return their columns.

    ``X[(b,i,j), (i',j',ic)] = xp[b, s_Y i + i', s_X j + j', ic]``, one row per output pixel,
    shape ``((stop - first) h_O w_O, h_K w_K c_I)``. With ``transposed`` it is the transposed
    view of an ``(h_K w_K c_I, (stop - first) h_O w_O)`` matrix in memory (see
    ``_transposed_columns``).
    """
    if transposed:
        block = windows[:, :, :, first:stop]
        width = block.shape[0] * block.shape[1] * block.shape[2]
        cols = out[: block.size].reshape(width, -1)
        np.copyto(cols.reshape(block.shape), block)
        return cols.T
    block = windows[first:stop]
    rows = block.shape[0] * block.shape[1] * block.shape[2]
    cols = out[: block.size].reshape(rows, -1)
    np.copyto(cols.reshape(block.shape), block)
    return cols


def _transposed_columns(c_in: int, w_out: int, stride_x: int) -> bool:
    """Whether im2col writes ``X^T`` (runs along the image's rows) rather than ``X`` (runs of channels).

    The copy is fast when its innermost run is long: ``X`` copies ``c_I`` contiguous channels
    at a time, ``X^T`` copies ``w_O`` pixels of one channel (contiguous only for ``s_X = 1``
    and, in channels-last memory, only for ``c_I = 1``). A rule on shapes, not a timing, so the
    same model always takes the same path: on the benchmark's first layer (``c_I = 1``) ``X^T``
    made forward and backward 2x faster; for ``c_I = 32`` ``X`` is the faster.
    """
    return c_in == 1 and stride_x == 1 and w_out > 1


def _weight_matrix(W: np.ndarray) -> np.ndarray:
    """``W`` as the ``(h_K w_K c_I, c_O)`` matrix whose rows match the columns' ``(i', j', ic)``."""
    c_out = W.shape[0]
    return np.ascontiguousarray(W.transpose(2, 3, 1, 0)).reshape(-1, c_out)


def conv2d_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    stride: Pair,
    padding: Pair,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``Y = X W + bias`` by im2col, block by block; return ``y`` and the padded input ``xp``.

    x ``(n, c_I, h_I, w_I)`` in any memory layout, W ``(c_O, c_I, h_K, w_K)``, b ``(c_O,)``,
    y ``(n, c_O, h_O, w_O)``. ``y`` is stored channels-last (a transposed view of
    ``(n, h_O, w_O, c_O)`` memory, as PyTorch's ``channels_last``): the product writes it in that
    order, and the next convolution reads its columns from it as contiguous runs of channels.
    Backward rebuilds the columns from ``xp`` (the ``(n, h_I + 2 p_H, w_I + 2 p_W, c_I)``
    padded input) rather than keeping all of them. ``out``, if given, is the C-ordered
    ``(n h_O w_O, c_O)`` array to write the product into.
    """
    n = x.shape[0]
    c_out, _, kh, kw = W.shape
    xp = _padded(x, padding)
    ho, wo = output_size(x.shape[2:], (kh, kw), stride, padding)
    weight = _weight_matrix(W)
    y = np.empty((n * ho * wo, c_out), x.dtype) if out is None else out
    step = min(n, _block_size(ho * wo, weight.nbytes // c_out))
    block = np.empty(step * ho * wo * weight.shape[0], x.dtype)
    transposed = _transposed_columns(x.shape[1], wo, stride[1])
    windows = _windows(xp, (kh, kw), stride, transposed)
    # The bias tiled over a sample's (h_O w_O, c_O) rows: one long loop per sample, not c_O values a pixel
    bias = None if b is None else np.broadcast_to(b, (ho * wo, c_out)).reshape(-1)
    for first in range(0, n, step):
        stop = min(first + step, n)
        cols = _im2col(windows, first, stop, block, transposed)
        rows = y[first * ho * wo : stop * ho * wo]
        np.matmul(cols, weight, out=rows)
        if bias is not None:
            rows.reshape(stop - first, -1)[...] += bias
    return y.reshape(n, ho, wo, c_out).transpose(0, 3, 1, 2), xp


def conv2d_backward(
    gy: np.ndarray,
    xp: np.ndarray,
    W: np.ndarray,
    x_shape: tuple[int, ...] | None,
    stride: Pair,
    padding: Pair,
    gW: np.ndarray,
    gb: np.ndarray | None,
) -> np.ndarray | None:
    """Write ``gW = X^T gY`` and ``gb = 1^T gY`` in place; return ``gx`` (col2im of ``gY W^T``).

    From ``y[b,oc,i,j] = sum_{ic,i',j'} w[oc,ic,i',j'] xp[b,ic, s_Y i + i', s_X j + j'] + bias[oc]``::

        dL/dbias[oc]       = sum_{b,i,j} gy[b,oc,i,j]
        dL/dw[oc,ic,i',j'] = sum_{b,i,j} gy[b,oc,i,j] xp[b,ic, s_Y i + i', s_X j + j']
        dL/dxp[b,ic,u,v]   = sum of gy[b,oc,i,j] w[oc,ic,i',j'] over oc and all (i, i', j, j')
                             with s_Y i + i' = u and s_X j + j' = v

    and ``dL/dx[b,ic,u,v] = dL/dxp[b,ic, u + p_H, v + p_W]``. The last sum is col2im: for each
    of the ``h_K w_K`` offsets, add the slab ``gX[:, (i',j')]`` onto the strided pixels that
    offset read. For stride 1 it is a convolution instead (``input_grad_by_convolution``),
    which reuses the forward's blocks and product. With ``x_shape`` None (the first layer: the
    data needs no gradient) only the parameters' gradients are made and None is returned.
    gy ``(n, c_O, h_O, w_O)``, ``xp`` the forward's padded input; ``gx`` comes back channels-last.
    """
    n, ho, wo, c_out = gy.shape[0], *gy.shape[2:], gy.shape[1]
    c_in, kh, kw = W.shape[1:]
    gy2 = np.ascontiguousarray(channels_last(gy)).reshape(-1, c_out)
    if gb is not None:
        np.copyto(gb, np.einsum("ij->j", gy2))  # in memory order: a sum over axis 0 is 3.5x slower here
    weight = _weight_matrix(W)
    grad_weight = np.zeros_like(weight)
    part = np.empty_like(weight)
    (ph, pw), unit_stride = padding, stride == (1, 1)
    by_convolution = x_shape is not None and unit_stride and ph < kh and pw < kw
    gxp = None if x_shape is None or by_convolution else np.zeros(xp.shape, gy.dtype)
    step = min(n, _block_size(ho * wo, weight.nbytes // c_out))
    block = np.empty(step * ho * wo * weight.shape[0], gy.dtype)
    gblock = None if gxp is None else np.empty((step * ho * wo, weight.shape[0]), gy.dtype)
    transposed = _transposed_columns(c_in, wo, stride[1])
    windows = _windows(xp, (kh, kw), stride, transposed)
    for first in range(0, n, step):
        stop = min(first + step, n)
        cols = _im2col(windows, first, stop, block, transposed)
        gy_rows = gy2[first * ho * wo : stop * ho * wo]
        np.matmul(cols.T, gy_rows, out=part)
        grad_weight += part
        if gxp is not None:
            assert gblock is not None  # made with gxp
            gcols = np.matmul(gy_rows, weight.T, out=gblock[: len(gy_rows)])
            # (b, c, i, j) views of both sides, so offset_view's last two axes are the pixels
            gcols = gcols.reshape(stop - first, ho, wo, kh, kw, c_in).transpose(0, 5, 1, 2, 3, 4)
            target = gxp[first:stop].transpose(0, 3, 1, 2)
            for p in range(kh):
                for q in range(kw):
                    offset_view(target, p, q, stride, (ho, wo))[...] += gcols[..., p, q]
    gW[...] = grad_weight.reshape(kh, kw, c_in, c_out).transpose(3, 2, 0, 1)
    if by_convolution:
        return input_grad_by_convolution(gy, W, padding)
    if gxp is None:
        return None
    assert x_shape is not None  # gxp is made only with it
    h, w = x_shape[2:]
    return gxp[:, ph : ph + h, pw : pw + w].transpose(0, 3, 1, 2)


def input_grad_by_convolution(gy: np.ndarray, W: np.ndarray, padding: Pair) -> np.ndarray:
    """``dL/dx`` of a stride-1 convolution, as a convolution of ``gy``.

    With stride 1, ``dL/dx[b,ic,u,v] = sum_{oc,i',j'} gy[b,oc, u + p_H - i', v + p_W - j'] w[oc,ic,i',j']``;
    substituting ``i'' = h_K - 1 - i'`` (and ``j''`` likewise) turns it into a cross-correlation::

        dL/dx[b,ic,u,v] = sum_{oc,i'',j''} gyp[b,oc, u + i'', v + j''] w[oc,ic, h_K-1-i'', w_K-1-j'']

    of ``gy`` zero-padded by ``h_K - 1 - p_H`` and ``w_K - 1 - p_W`` (the "full" correlation)
    with the kernel flipped in both axes and its channel axes swapped: ``conv2d_forward`` with
    that kernel, no bias. Valid for ``p_H < h_K`` and ``p_W < w_K``.
    """
    kh, kw = W.shape[2:]
    flipped = W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
    gx, _ = conv2d_forward(gy, flipped, None, (1, 1), (kh - 1 - padding[0], kw - 1 - padding[1]))
    return gx


def check_conv_input(conv: Conv2d, x: np.ndarray) -> tuple[int, int]:
    """Check ``x`` for ``conv`` (``Layer.check_input``, and a map no smaller than the kernel once
    padded); return the output size ``(h_O, w_O)``."""
    c_in = conv.in_channels
    conv.check_input(x, 4, f"(N, {c_in}, H, W)", (c_in, None, None))
    (kh, kw), (ph, pw) = conv.kernel_size, conv.padding
    h, w = x.shape[2:]
    out_hw = output_size((h, w), conv.kernel_size, conv.stride, conv.padding)
    if min(out_hw) < 1:
        raise ValueError(
            f"{conv}: input of size {h}x{w} ({h + 2 * ph}x{w + 2 * pw} once padded) is"
            f" smaller than the kernel {kh}x{kw}"
        )
    return out_hw


class Conv2d(Layer):
    """2D convolution over ``(N, C, H, W)`` images: cross-correlation with zero padding, as PyTorch.

    Forward:  ``y[b,oc,i,j] = sum_{ic,i',j'} w[oc,ic,i',j'] xp[b,ic, s_Y i + i', s_X j + j'] + bias[oc]``
    Backward: ``dL/dbias[oc] = sum_{b,i,j} dL/dy[b,oc,i,j]``,
    ``dL/dw[oc,ic,i',j'] = sum_{b,i,j} dL/dy[b,oc,i,j] xp[b,ic, s_Y i + i', s_X j + j']``,
    ``dL/dx[b,ic,u,v]`` = the sum of ``dL/dy[b,oc,i,j] w[oc,ic,i',j']`` over every ``oc`` and
    every (output pixel, kernel offset) pair that read padded pixel ``(u + p_H, v + p_W)``.

    ``xp`` is ``x`` zero-padded by ``padding``; the module docstring fixes the notation and
    gives the output size ``h_O = (h_I + 2 p_H - h_K) // s_Y + 1`` (likewise ``w_O``).
    Shapes: x ``(N, in_channels, H, W)``, y ``(N, out_channels, h_O, w_O)``,
    ``weight`` ``(out_channels, in_channels, h_K, w_K)``, ``bias`` ``(out_channels,)``.

    ``kernel_size`` and ``stride`` are positive ints, ``padding`` a non-negative int, or each an
    ``(h, w)`` pair. Weight and bias start as ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with
    ``fan_in = in_channels h_K w_K`` (PyTorch's default). Inputs must have the layer's dtype;
    any memory layout works, and the output is stored channels-last (see ``conv2d_forward``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        dtype: DTypeLike | None = None,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = validation.positive_integer("Conv2d", "in_channels", in_channels)
        self.out_channels = validation.positive_integer("Conv2d", "out_channels", out_channels)
        bias = validation.flag("Conv2d", "bias", bias)
        self.kernel_size = as_pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = as_pair(stride, "stride", "Conv2d")
        self.padding = as_pair(padding, "padding", "Conv2d", minimum=0)
        dtype = resolve_dtype(dtype, str(self))
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.add_param("weight", np.empty(shape, dtype))
        if bias:
            self.add_param("bias", np.empty(self.out_channels, dtype))
        default_weight_and_bias(self.weight, self.bias, as_generator(rng))
        self._xp: np.ndarray | None = None
        self._x_shape: tuple[int, ...] = ()
        self._y_shape: tuple[int, ...] | None = None

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_conv_input(self, x)
        y, self._xp = conv2d_forward(x, self.weight, self.bias, self.stride, self.padding)
        self._x_shape, self._y_shape = x.shape, y.shape
        return y

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        self._check_grad(gy, self._y_shape)
        assert self._xp is not None  # set with _y_shape, so _check_grad raised otherwise
        bias = self.grad_buffer("bias") if "bias" in self.params else None
        return conv2d_backward(
            gy,
            self._xp,
            self.weight,
            self._x_shape if input_grad else None,
            self.stride,
            self.padding,
            self.grad_buffer("weight"),
            bias,
        )

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": pair_config(self.kernel_size),
            "stride": pair_config(self.stride),
            "padding": pair_config(self.padding),
            "bias": "bias" in self.params,
            "dtype": self.weight.dtype.name,
        }

    def __str__(self) -> str:
        return (
            f"Conv2d({self.in_channels} -> {self.out_channels},"
            f" kernel {self.kernel_size[0]}x{self.kernel_size[1]},"
            f" stride {describe_pair(self.stride)}, padding {describe_pair(self.padding)})"
        )
