"""Residual connections: ``y = x + F(x)``, the block ``F`` any layer or ``Sequential``.

The identity path is why deep residual networks train: its Jacobian is ``I``, so the gradient
reaching ``x`` is ``dL/dy`` itself plus what flows back through the block, never only a product
of many layers' Jacobians (He et al., 2016).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .layers.base import Layer, backward_of
from .model import Gradients, Slot, index_arrays, without_indexes


class Residual(Layer):
    """``y = x + F(x)``, or ``y = P(x) + F(x)`` with a projection shortcut ``P`` where the shapes differ.

    Forward:  ``y = s + F(x)`` with ``s = x`` (identity) or ``s = P(x)`` (``shortcut``, e.g. a
    1x1 ``Conv2d`` with stride 2 when the block halves the map and changes the channels)
    Backward: ``dL/dx = dL/dy + F.backward(dL/dy)`` (the identity's Jacobian is ``I``), or
    ``P.backward(dL/dy) + F.backward(dL/dy)``: both paths get the same ``dL/dy`` (a sum's
    partial derivatives are 1) and the chain rule adds what they return. The block's and the
    shortcut's parameter gradients are set by their own backwards.

    ``params`` and ``grads`` are flat, keyed ``"block.<name>"`` and ``"shortcut.<name>"`` (inside a
    ``Sequential``: ``"3.block.0.weight"``), around the inner layers' own arrays, as
    ``Sequential``'s are. ``F(x)`` and ``s`` must have the same shape: a ``ValueError`` names
    both where they do not.
    """

    _slots: dict[str, Slot]

    def __init__(self, block: Layer, shortcut: Layer | None = None) -> None:
        super().__init__()
        for name, layer in (("block", block), ("shortcut", shortcut)):
            if layer is not None and not isinstance(layer, Layer):
                raise TypeError(f"Residual: {name} must be a backprop layer, got {type(layer).__name__}")
        self.block = block
        self.shortcut = shortcut
        self._index()

    def _index(self) -> None:
        """``params`` and ``grads`` around the inner layers' arrays (rebuilt when unpickled)."""
        self.params, self.buffers, self._slots = {}, {}, {}
        # A read-only view where a leaf layer's grads is its own dict (Sequential's too).
        self.grads = Gradients(self._slots)  # type: ignore[assignment]
        index_arrays("block", self.block, self.params, self.buffers, self._slots)
        if self.shortcut is not None:
            index_arrays("shortcut", self.shortcut, self.params, self.buffers, self._slots)

    def grad_slots(self) -> dict[str, Slot]:
        return dict(self._slots)

    def __getstate__(self) -> dict[str, Any]:
        return without_indexes(super().__getstate__())

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index()

    def modules(self) -> Iterator[Layer]:
        yield self
        yield from self.block.modules()
        if self.shortcut is not None:
            yield from self.shortcut.modules()

    def forward(self, x: np.ndarray) -> np.ndarray:
        fx = self.block(x)
        s = x if self.shortcut is None else self.shortcut(x)
        if fx.shape != s.shape:
            if self.shortcut is None:
                path, hint = "the input", "; give the Residual a shortcut that maps one onto the other"
            else:
                path, hint = f"the shortcut {self.shortcut}", ""
            raise ValueError(
                f"{self}: the block gives {fx.shape}, but {path} gives {s.shape}: a sum needs one shape{hint}"
            )
        return fx + s

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        through_block = backward_of(self.block, gy, input_grad)
        if self.shortcut is None:
            return gy + through_block if input_grad else None
        through_shortcut = backward_of(self.shortcut, gy, input_grad)
        if not input_grad:
            return None
        assert through_block is not None and through_shortcut is not None  # dL/dx, asked for
        return through_block + through_shortcut

    def config(self) -> dict[str, Any]:
        def spec(layer: Layer | None) -> dict[str, Any] | None:
            return None if layer is None else {"type": type(layer).__name__, "config": layer.config()}

        return {"block": spec(self.block), "shortcut": spec(self.shortcut)}

    def __str__(self) -> str:
        shortcut = "" if self.shortcut is None else f", shortcut {self.shortcut}"
        return f"Residual({self.block}{shortcut})"
