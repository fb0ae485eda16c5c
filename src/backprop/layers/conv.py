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

im2col lays the input out as a matrix ``X`` of shape ``(c_I h_K w_K, n h_O w_O)`` with
``X[(ic,i',j'), (b,i,j)] = xp[b,ic, s_Y i + i', s_X j + j']``; with ``W`` the weight reshaped
to ``(c_O, c_I h_K w_K)`` the whole forward is ``Y = W X + bias``, a Linear layer applied to
every column. Its backward is therefore Linear's: ``gW = gY X^T``, ``gbias = gY 1``,
``gX = W^T gY``, and col2im adds each entry of ``gX`` back onto the pixel it was copied from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import DTypeLike

from ..dtypes import resolve_dtype
from ..init import default_weight_and_bias
from ..random import as_generator
from .base import Layer
from .windows import Pair, as_pair, describe_pair, offset_view, output_size, pair_config


def conv2d_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: Pair, padding: Pair
) -> tuple[np.ndarray, np.ndarray]:
    """``Y = W X + bias`` by im2col; return ``y`` and the columns ``X`` that backward needs.

    x ``(n, c_I, h_I, w_I)``, W ``(c_O, c_I, h_K, w_K)``, b ``(c_O,)``, y ``(n, c_O, h_O, w_O)``,
    X ``(c_I h_K w_K, n h_O w_O)``. ``y`` is a transposed view of the ``(c_O, n h_O w_O)``
    product, not a copy in ``(n, c_O, ...)`` memory order: the layers after it read it through
    its strides, so that copy would be a pass over the output for nothing.
    """
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = W.shape
    (ph, pw), (sy, sx) = padding, stride
    if ph or pw:
        xp = np.zeros((n, c_in, h + 2 * ph, w + 2 * pw), x.dtype)
        xp[:, :, ph : ph + h, pw : pw + w] = x
    else:
        xp = x
    # windows[b, ic, i, j, i', j'] = xp[b, ic, s_Y i + i', s_X j + j'], a view with no copy.
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sy, ::sx]
    ho, wo = windows.shape[2:4]
    # The one copy of im2col; rows (ic, i', j') match W's flattening, columns (b, i, j).
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(c_in * kh * kw, n * ho * wo)
    y = W.reshape(c_out, -1) @ cols
    if b is not None:
        y += b[:, None]
    return y.reshape(c_out, n, ho, wo).transpose(1, 0, 2, 3), cols


def conv2d_backward_params(
    gy: np.ndarray, cols: np.ndarray, gW: np.ndarray, gb: np.ndarray | None
) -> np.ndarray:
    """Write ``gW = gY X^T`` and ``gb = gY 1`` in place; return ``gY`` as ``(c_O, n h_O w_O)``.

    ``dL/dw[oc,ic,i',j'] = sum_{b,i,j} gy[b,oc,i,j] xp[b,ic, s_Y i + i', s_X j + j']`` is the
    product with the forward's columns ``X``; ``dL/dbias[oc] = sum_{b,i,j} gy[b,oc,i,j]``.
    """
    c_out = gW.shape[0]
    gy2 = gy.transpose(1, 0, 2, 3).reshape(c_out, -1)
    np.matmul(gy2, cols.T, out=gW.reshape(c_out, -1))
    if gb is not None:
        np.sum(gy2, axis=1, out=gb)
    return gy2


def conv2d_backward(
    gy: np.ndarray,
    cols: np.ndarray,
    W: np.ndarray,
    x_shape: tuple[int, ...],
    stride: Pair,
    padding: Pair,
    gW: np.ndarray,
    gb: np.ndarray | None,
) -> np.ndarray:
    """Write ``gW = gY X^T`` and ``gb = gY 1`` in place; return ``gx`` by col2im of ``W^T gY``.

    From ``y[b,oc,i,j] = sum_{ic,i',j'} w[oc,ic,i',j'] xp[b,ic, s_Y i + i', s_X j + j'] + bias[oc]``::

        dL/dbias[oc]       = sum_{b,i,j} gy[b,oc,i,j]
        dL/dw[oc,ic,i',j'] = sum_{b,i,j} gy[b,oc,i,j] xp[b,ic, s_Y i + i', s_X j + j']
        dL/dxp[b,ic,u,v]   = sum of gy[b,oc,i,j] w[oc,ic,i',j'] over oc and all (i, i', j, j')
                             with s_Y i + i' = u and s_X j + j' = v

    and ``dL/dx[b,ic,u,v] = dL/dxp[b,ic, u + p_H, v + p_W]``. The last sum is col2im: for each
    of the ``h_K w_K`` offsets, add the slab ``gX[(ic,i',j'), :]`` onto the strided pixels
    that offset read. gy ``(n, c_O, h_O, w_O)``, cols the forward's ``X``.
    """
    n, c_in, h, w = x_shape
    c_out, _, kh, kw = W.shape
    (ph, pw), (ho, wo) = padding, gy.shape[2:]
    gy2 = conv2d_backward_params(gy, cols, gW, gb)
    gcols = (W.reshape(c_out, -1).T @ gy2).reshape(c_in, kh, kw, n, ho, wo)
    # Channel-first buffer so each offset's slab gcols[:, i', j'] adds without a transpose.
    gxp = np.zeros((c_in, n, h + 2 * ph, w + 2 * pw), gcols.dtype)
    for p in range(kh):
        for q in range(kw):
            offset_view(gxp, p, q, stride, (ho, wo))[...] += gcols[:, p, q]
    return gxp.transpose(1, 0, 2, 3)[:, :, ph : ph + h, pw : pw + w]


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
    any memory layout works, and the output is a strided view (see ``conv2d_forward``).
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
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Conv2d: {name} must be a positive integer, got {value!r}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = as_pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = as_pair(stride, "stride", "Conv2d")
        self.padding = as_pair(padding, "padding", "Conv2d", minimum=0)
        dtype = resolve_dtype(dtype, str(self))
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self._add_param("weight", np.empty(shape, dtype))
        if bias:
            self._add_param("bias", np.empty(self.out_channels, dtype))
        default_weight_and_bias(self.weight, self.bias, as_generator(rng))
        self._cols: np.ndarray | None = None
        self._x_shape: tuple[int, ...] = ()
        self._y_shape: tuple[int, ...] | None = None

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        c_in = self.in_channels
        self._check_input(x, 4, f"(N, {c_in}, H, W)", (c_in, None, None))
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        h, w = x.shape[2:]
        if min(output_size((h, w), self.kernel_size, self.stride, self.padding)) < 1:
            raise ValueError(
                f"{self}: input of size {h}x{w} ({h + 2 * ph}x{w + 2 * pw} once padded) is"
                f" smaller than the kernel {kh}x{kw}"
            )
        y, self._cols = conv2d_forward(x, self.weight, self.bias, self.stride, self.padding)
        self._x_shape, self._y_shape = x.shape, y.shape
        return y

    def backward(self, gy: np.ndarray) -> np.ndarray:
        self._check_grad(gy, self._y_shape)
        return conv2d_backward(
            gy,
            self._cols,
            self.weight,
            self._x_shape,
            self.stride,
            self.padding,
            self.grads["weight"],
            self.grads.get("bias"),
        )

    def backward_params(self, gy: np.ndarray) -> None:
        self._check_grad(gy, self._y_shape)
        conv2d_backward_params(gy, self._cols, self.grads["weight"], self.grads.get("bias"))

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
