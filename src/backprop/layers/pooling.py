"""2D max pooling: each output pixel is the largest input in its window; the gradient goes there.

Notation as in ``conv.py``: ``h_K x w_K`` the window, ``s_Y, s_X`` the strides (by default the
window size), ``p_H, p_W`` the padding (default none; it holds ``-inf``, which no maximum takes,
as PyTorch's implicit padding), and the output size (floor, as PyTorch)::

    h_O = floor((h_I + 2 p_H - h_K) / s_Y) + 1        w_O likewise

Rows and columns that no window reaches (``h_I - h_K`` not a multiple of ``s_Y``) are dropped
by the forward and get zero gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer
from .windows import Pair, describe_pair, empty_in_layout, offset_view, output_size, pair_config, pool_window


def maxpool2d_forward(x: np.ndarray, kernel: Pair, stride: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Return ``y`` and ``argmax``: ``y[b,c,i,j] = max_{i',j'} x[b,c, s_Y i + i', s_X j + j']``.

    ``argmax[b,c,i,j] = i' w_K + j'`` is the offset of the window's first maximum in row-major
    order (what ``np.argmax`` of the flattened window gives), so ties send the gradient to
    exactly one input. x ``(n, c, h_I, w_I)``, y and argmax ``(n, c, h_O, w_O)``.
    """
    kh, kw = kernel
    out_hw = output_size(x.shape[2:], kernel, stride, (0, 0))
    # A running maximum over the h_K w_K offsets: each step is a few whole-array ufuncs on a
    # strided view. (A reshape to (..., h_O, h_K, w_O, w_K) + max over two axes, or an argmax
    # of copied windows, is several times slower in NumPy.)
    # Every array keeps x's memory layout (order "K"), so the passes below run over memory in
    # order for channels-last maps as well as for (N, C, H, W) ones.
    y = offset_view(x, 0, 0, stride, out_hw).copy(order="K")
    argmax = np.zeros_like(y, np.min_scalar_type(kh * kw - 1))
    better = np.empty_like(y, bool)
    step = np.empty_like(argmax)
    for offset in range(1, kh * kw):
        view = offset_view(x, *divmod(offset, kw), stride, out_hw)
        np.greater(view, y, out=better)  # strict: an equal later value keeps the first max
        np.maximum(y, view, out=y)
        # Offsets come in increasing order, so "argmax = offset where better" is a maximum.
        np.multiply(better, argmax.dtype.type(offset), out=step)
        np.maximum(argmax, step, out=argmax)
    return y, argmax


def maxpool2d_max(x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """``y[b,c,i,j] = max_{i',j'} x[b,c, s_Y i + i', s_X j + j']`` alone, without the argmax.

    What ``eval()`` needs: the same running maximum as ``maxpool2d_forward`` (so the same
    values), one ``maximum`` pass per window offset instead of four passes.
    """
    kh, kw = kernel
    out_hw = output_size(x.shape[2:], kernel, stride, (0, 0))
    y = offset_view(x, 0, 0, stride, out_hw).copy(order="K")
    for offset in range(1, kh * kw):
        np.maximum(y, offset_view(x, *divmod(offset, kw), stride, out_hw), out=y)
    return y


def maxpool2d_backward(
    gy: np.ndarray,
    argmax: np.ndarray,
    x_shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Return ``gx``: each ``dL/dy[b,c,i,j]`` added onto the input its window's max came from.

    ``dy[b,c,i,j]/dx[b,c,u,v]`` is 1 when ``(u, v) = (s_Y i + i', s_X j + j')`` with
    ``i' w_K + j' = argmax[b,c,i,j]`` and 0 otherwise, so the chain rule gives::

        dL/dx[b,c,u,v] = sum_{i,j} dL/dy[b,c,i,j] [s_Y i + i' = u and s_X j + j' = v]

    with ``(i', j')`` the stored argmax of window ``(i, j)``. Windows that do not overlap
    (stride >= kernel) write each offset's slab once; overlapping ones (e.g. kernel 3,
    stride 2) can share a maximum, so there the slabs are added.
    """
    kh, kw = kernel
    (sy, sx), out_hw = stride, gy.shape[2:]
    overlap = sy < kh or sx < kw
    covered = (sy, sx) == (kh, kw) and (out_hw[0] * kh, out_hw[1] * kw) == x_shape[2:]
    # Every input pixel gets written exactly once only when the windows tile the input.
    gx = empty_in_layout(x_shape, argmax, gy.dtype) if out is None else out
    if not covered:
        gx[...] = 0
    for offset in range(kh * kw):
        view = offset_view(gx, *divmod(offset, kw), stride, out_hw)
        if overlap:
            view += gy * (argmax == offset)
        else:
            np.multiply(gy, argmax == offset, out=view)
    return gx


def check_pool_input(pool: MaxPool2d, x: np.ndarray) -> None:
    """Check ``x`` for ``pool``: ``(N, C, H, W)`` floats with a (padded) map no smaller than the window."""
    pool.check_input(x, 4, "(N, C, H, W)")
    (kh, kw), (ph, pw), (h, w) = pool.kernel_size, pool.padding, x.shape[2:]
    if h + 2 * ph < kh or w + 2 * pw < kw:
        padded = f" (padded by {ph}x{pw})" if ph or pw else ""
        raise ValueError(f"{pool}: input of size {h}x{w}{padded} is smaller than the window {kh}x{kw}")


class MaxPool2d(Layer):
    """2D max pooling over ``(N, C, H, W)`` images, floor output size as PyTorch.

    Forward:  ``y[b,c,i,j] = max_{0 <= i' < h_K, 0 <= j' < w_K} x_pad[b,c, s_Y i + i', s_X j + j']``
    Backward: ``dL/dx[b,c,u,v] = sum of dL/dy[b,c,i,j]`` over the windows ``(i, j)`` whose
    maximum is ``x[b,c,u,v]``; 0 for inputs that are no window's maximum.

    ``x_pad`` is x with ``padding`` cells of ``-inf`` on each side (none by default): no window's
    maximum is one of them, so they get no gradient. Output size ``h_O = (h_I + 2 p_H - h_K) //
    s_Y + 1`` (likewise ``w_O``). On ties the gradient goes to one input only, the window's
    first maximum in row-major order (as ``np.argmax``). Forward keeps that position per window
    in training; in ``eval()`` it takes the maximum alone (a third of the passes) and keeps the
    input, and a backward after it finds the positions then.
    ``kernel_size``, ``stride`` (default: ``kernel_size``) and ``padding`` (at most half the
    window, as PyTorch) are ints or ``(h, w)`` pairs. No parameters: float32 and float64 work.
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = pool_window("MaxPool2d", kernel_size, stride, padding)
        self._argmax: np.ndarray | None = None
        self._x_padded: np.ndarray | None = None  # eval(): the input, for a backward's argmax
        self._x_shape: tuple[int, ...] = ()
        self._y_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_pool_input(self, x)
        self._x_shape = x.shape
        ph, pw = self.padding
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
        if self.training:
            y, self._argmax = maxpool2d_forward(x, self.kernel_size, self.stride)
            self._x_padded = None
        else:
            y, self._argmax, self._x_padded = maxpool2d_max(x, self.kernel_size, self.stride), None, x
        self._y_shape = y.shape
        return y

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        self._check_grad(gy, self._y_shape)
        if not input_grad:
            return None
        argmax = self._argmax
        if argmax is None:  # the forward ran in eval(): find the maxima's positions now
            assert self._x_padded is not None  # set with _y_shape
            argmax = maxpool2d_forward(self._x_padded, self.kernel_size, self.stride)[1]
        (ph, pw), (n, c, h, w) = self.padding, self._x_shape
        padded_shape = (n, c, h + 2 * ph, w + 2 * pw)
        gx = maxpool2d_backward(gy, argmax, padded_shape, self.kernel_size, self.stride)
        return gx[:, :, ph : ph + h, pw : pw + w] if ph or pw else gx

    def config(self) -> dict[str, Any]:
        config = {"kernel_size": pair_config(self.kernel_size), "stride": pair_config(self.stride)}
        if any(self.padding):
            config["padding"] = pair_config(self.padding)
        return config

    def __str__(self) -> str:
        kh, kw = self.kernel_size
        padding = f", padding {describe_pair(self.padding)}" if any(self.padding) else ""
        return f"MaxPool2d(kernel {kh}x{kw}, stride {describe_pair(self.stride)}{padding})"
