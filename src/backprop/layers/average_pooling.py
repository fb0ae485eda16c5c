"""2D average pooling: each output pixel is the mean of its window; the gradient is shared out evenly.

Notation as in ``conv.py``: ``h_K x w_K`` the window, ``s_Y, s_X`` the strides (by default the
window size), ``p_H, p_W`` the zero padding, and the output size (floor, as PyTorch)::

    h_O = floor((h_I + 2 p_H - h_K) / s_Y) + 1        w_O likewise

PyTorch's conventions (``count_include_pad=True``): padded zeros count in the average, so
every window divides by ``h_K w_K``. ``GlobalAvgPool2d`` is the window that covers the whole map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer
from .channels import is_channels_last
from .windows import Pair, describe_pair, offset_view, output_size, pair_config, pool_window


def avgpool2d_forward(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """``y[b,c,i,j] = (1 / (h_K w_K)) sum_{i',j'} x_pad[b,c, s_Y i + i', s_X j + j']``.

    ``x_pad`` is x with ``p_H`` rows and ``p_W`` columns of zeros on each side. x ``(n, c, h_I,
    w_I)``, y ``(n, c, h_O, w_O)``, a sum of the ``h_K w_K`` strided views of the window offsets.
    """
    kh, kw = kernel
    ph, pw = padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    out_hw = output_size(x.shape[2:], kernel, stride, padding)
    y = offset_view(padded, 0, 0, stride, out_hw).copy(order="K")
    for offset in range(1, kh * kw):
        y += offset_view(padded, *divmod(offset, kw), stride, out_hw)
    y *= y.dtype.type(1.0 / (kh * kw))
    return y


def avgpool2d_backward(
    gy: np.ndarray, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair
) -> np.ndarray:
    """``dL/dx[b,c,u,v] = (1 / (h_K w_K)) sum of dL/dy[b,c,i,j]`` over the windows that hold ``(u, v)``.

    ``dy[b,c,i,j]/dx[b,c,u,v] = 1 / (h_K w_K)`` when ``(u + p_H, v + p_W)`` is
    ``(s_Y i + i', s_X j + j')`` for an offset ``(i', j')`` of the window, else 0: each output's
    gradient, divided by the window's size, is added onto every input of its window, and the
    padding's share is dropped.
    """
    kh, kw = kernel
    ph, pw = padding
    n, c, h, w = x_shape
    share = gy * gy.dtype.type(1.0 / (kh * kw))
    out_hw = gy.shape[2:]
    # Windows that do not overlap (stride >= window) each write their own pixels: assign, not add,
    # and where they tile the whole map no pixel needs its zero first.
    apart = stride[0] >= kh and stride[1] >= kw
    tiled = apart and stride == kernel and not (ph or pw) and (h, w) == (out_hw[0] * kh, out_hw[1] * kw)
    gx_padded = _like(share, (n, c, h + 2 * ph, w + 2 * pw), zeros=not tiled)
    for offset in range(kh * kw):
        target = offset_view(gx_padded, *divmod(offset, kw), stride, out_hw)
        if apart:
            target[...] = share
        else:
            target[...] += share
    return gx_padded[:, :, ph : ph + h, pw : pw + w]


def _like(gy: np.ndarray, shape: tuple[int, int, int, int], zeros: bool) -> np.ndarray:
    """A new ``(n, c, h, w)`` array in ``gy``'s memory layout (channels-last if ``gy`` is), zeroed or not."""
    make = np.zeros if zeros else np.empty
    if gy.transpose(0, 2, 3, 1).flags.c_contiguous and not gy.flags.c_contiguous:
        n, c, h, w = shape
        return make((n, h, w, c), gy.dtype).transpose(0, 3, 1, 2)
    return make(shape, gy.dtype)


class AvgPool2d(Layer):
    """2D average pooling over ``(N, C, H, W)`` images, PyTorch's conventions.

    Forward:  ``y[b,c,i,j] = (1 / (h_K w_K)) sum_{i' < h_K, j' < w_K} x_pad[b,c, s_Y i + i', s_X j + j']``
    Backward: ``dL/dx[b,c,u,v] = (1 / (h_K w_K)) sum of dL/dy[b,c,i,j]`` over the windows
    ``(i, j)`` that contain ``(u, v)`` (``x_pad``: x with ``padding`` zeros on each side, which
    count in the average, ``count_include_pad=True``)

    Output size ``h_O = (h_I + 2 p_H - h_K) // s_Y + 1`` (likewise ``w_O``). ``kernel_size``,
    ``stride`` (default: ``kernel_size``) and ``padding`` (default 0, at most half the window,
    as PyTorch) are ints or ``(h, w)`` pairs. No parameters: float32 and float64 inputs work.
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = pool_window("AvgPool2d", kernel_size, stride, padding)
        self._x_shape: tuple[int, int, int, int] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, 4, "(N, C, H, W)")
        (kh, kw), (ph, pw), (h, w) = self.kernel_size, self.padding, x.shape[2:]
        if h + 2 * ph < kh or w + 2 * pw < kw:
            raise ValueError(
                f"{self}: input of size {h}x{w} (padded by {ph}x{pw}) is smaller than the window {kh}x{kw}"
            )
        self._x_shape = x.shape
        return avgpool2d_forward(x, self.kernel_size, self.stride, self.padding)

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_shape = self._x_shape
        expected = None if x_shape is None else (
            *x_shape[:2], *output_size(x_shape[2:], self.kernel_size, self.stride, self.padding)
        )
        self._check_grad(gy, expected)
        assert x_shape is not None  # _check_grad raised otherwise
        if not input_grad:
            return None
        return avgpool2d_backward(gy, x_shape, self.kernel_size, self.stride, self.padding)

    def config(self) -> dict[str, Any]:
        return {
            "kernel_size": pair_config(self.kernel_size),
            "stride": pair_config(self.stride),
            "padding": pair_config(self.padding),
        }

    def __str__(self) -> str:
        kh, kw = self.kernel_size
        padding = f", padding {describe_pair(self.padding)}" if any(self.padding) else ""
        return f"AvgPool2d(kernel {kh}x{kw}, stride {describe_pair(self.stride)}{padding})"


class GlobalAvgPool2d(Layer):
    """The mean of each channel's whole map: ``(N, C, H, W)`` to ``(N, C)``.

    Forward:  ``y[b,c] = (1 / (H W)) sum_{u,v} x[b,c,u,v]``
    Backward: ``dL/dx[b,c,u,v] = dL/dy[b,c] / (H W)`` (every pixel has the same share)

    What a residual network puts before its last Linear layer, in place of Flatten: the
    classifier then takes any map size. No parameters.
    """

    def __init__(self) -> None:
        super().__init__()
        self._x_shape: tuple[int, int, int, int] | None = None
        self._channels_last = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, 4, "(N, C, H, W)")
        self._x_shape, self._channels_last = x.shape, is_channels_last(x)
        return x.mean(axis=(2, 3))

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_shape = self._x_shape
        self._check_grad(gy, None if x_shape is None else x_shape[:2])
        assert x_shape is not None  # _check_grad raised otherwise
        if not input_grad:
            return None
        n, c, h, w = x_shape
        share = gy * gy.dtype.type(1.0 / (h * w))
        # in the input's memory layout, so the layers before it work on maps laid out as theirs
        if self._channels_last:
            return np.repeat(share, h * w, axis=0).reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return np.broadcast_to(share[:, :, None, None], x_shape).copy()

    def __str__(self) -> str:
        return "GlobalAvgPool2d()"
