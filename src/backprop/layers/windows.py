"""Window arithmetic shared by Conv2d and the pooling layers: ``(h, w)`` pairs, output sizes, strided views.

Notation as in ``conv.py``: ``h_K x w_K`` the window (kernel), ``s_Y, s_X`` the strides,
``p_H, p_W`` the zero padding, ``h_O x w_O`` the output size.
"""

from __future__ import annotations

import numpy as np

from ..validation import is_integer

Pair = tuple[int, int]


def as_pair(value: int | tuple[int, int], name: str, owner: str, minimum: int = 1) -> Pair:
    """``value`` as an ``(h, w)`` pair of ints ``>= minimum``; ValueError naming ``owner`` if not."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(is_integer(v) and v >= minimum for v in items):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{owner}: {name} must be a {kind} integer or a pair of them, got {value!r}")
    return int(items[0]), int(items[1])


def pool_window(
    owner: str,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None,
    padding: int | tuple[int, int],
) -> tuple[Pair, Pair, Pair]:
    """A pooling layer's checked window, stride (default: the window) and padding (at most half the
    window, as PyTorch: a window of padding alone would have nothing to pool)."""
    kernel = as_pair(kernel_size, "kernel_size", owner)
    strides = kernel if stride is None else as_pair(stride, "stride", owner)
    pads = as_pair(padding, "padding", owner, minimum=0)
    if any(2 * p > k for p, k in zip(pads, kernel)):
        raise ValueError(f"{owner}: padding must be at most half the window {kernel}, got {pads}")
    return kernel, strides, pads


def describe_pair(pair: Pair) -> str:
    """``3`` for ``(3, 3)``, ``2x3`` for ``(2, 3)``: how layer names print strides and padding."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def pair_config(pair: Pair) -> int | list[int]:
    """How ``config()`` stores a pair: ``3`` for ``(3, 3)``, ``[2, 3]`` for ``(2, 3)``."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def offset_view(a: np.ndarray, p: int, q: int, stride: Pair, out_hw: Pair) -> np.ndarray:
    """The ``(h_O, w_O)`` pixels ``a[..., s_Y i + p, s_X j + q]`` that kernel offset (p, q) sees."""
    (sy, sx), (ho, wo) = stride, out_hw
    return a[..., p : p + sy * (ho - 1) + 1 : sy, q : q + sx * (wo - 1) + 1 : sx]


def memory_order(a: np.ndarray) -> tuple[int, ...]:
    """``a``'s axes from the one with the largest stride to the smallest: (0, 2, 3, 1) for channels-last."""
    return tuple(sorted(range(a.ndim), key=lambda axis: -a.strides[axis]))


def empty_in_layout(shape: tuple[int, ...], like: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` whose axes lie in memory in the order of ``like``'s.

    A channels-last ``like`` gives a channels-last array: NumPy's ``empty_like`` does this
    only for ``like``'s own shape.
    """
    order = memory_order(like)
    memory = np.empty([shape[axis] for axis in order], dtype)
    return memory.transpose(np.argsort(order))


def output_size(in_hw: Pair, kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    """``(h_O, w_O)`` with ``h_O = (h_I + 2 p_H - h_K) // s_Y + 1`` (floor, as PyTorch)."""
    return (
        (in_hw[0] + 2 * padding[0] - kernel[0]) // stride[0] + 1,
        (in_hw[1] + 2 * padding[1] - kernel[1]) // stride[1] + 1,
    )


class Scratch:
    """Buffers kept between calls and handed out again while shape, dtype and layout stay the same.

    For arrays a caller uses up before its next call (inside the block ``Sequential`` runs for
    ``Conv2d, ReLU, MaxPool2d``): reusing them spares the allocator fresh pages, which for a
    CNN's megabyte-sized feature maps means a page fault every 4 KiB on every step.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, tuple[tuple[object, ...], np.ndarray]] = {}

    def get(
        self, name: str, shape: tuple[int, ...], dtype: np.dtype, like: np.ndarray | None = None
    ) -> np.ndarray:
        """The buffer ``name`` of ``shape`` and ``dtype``, laid out as ``like`` (C order without it)."""
        order = None if like is None else memory_order(like)
        key = (tuple(shape), np.dtype(dtype), order)
        cached = self._buffers.get(name)
        if cached is None or cached[0] != key:
            array = np.empty(shape, dtype) if like is None else empty_in_layout(shape, like, dtype)
            cached = self._buffers[name] = (key, array)
        return cached[1]
