"""Inverted dropout: zero each activation with probability p while training."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import validation
from ..random import as_generator
from .base import Layer


class Dropout(Layer):
    """Inverted dropout, any shape.

    Training: draw ``m_i ~ Bernoulli(1 - p)`` per element, ``y = x * m / (1 - p)``, so
    ``E[y] = x`` and evaluation needs no rescaling.
    Backward: ``dL/dx = dL/dy * m / (1 - p)`` (the same mask).
    Evaluation (``eval()``): ``y = x``, ``dL/dx = dL/dy``.
    """

    def __init__(self, p: float = 0.5, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = validation.probability("Dropout", "p", p)
        self.rng = as_generator(rng)
        self._scaled_mask: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, max(getattr(x, "ndim", 1), 1), "(N, ...)")
        self._shape = x.shape
        if not self.training or self.p == 0.0:
            self._scaled_mask = None
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        self._scaled_mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._scaled_mask

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        self._check_grad(gy, self._shape)
        if not input_grad:
            return None
        if self._scaled_mask is None:
            return gy
        return gy * self._scaled_mask

    def extra_state(self) -> dict[str, Any]:
        """The generator that draws the masks: a resumed run draws the masks it would have drawn."""
        return {"rng": self.rng.bit_generator.state}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if set(state) != {"rng"}:
            raise ValueError(f"{self}: expected extra state {{'rng': ...}}, got keys {sorted(state)}")
        # A generator of the same kind takes the state first: a malformed one fails there.
        probe = type(self.rng.bit_generator)()
        probe.state = state["rng"]
        self.rng.bit_generator.state = state["rng"]

    def config(self) -> dict[str, Any]:
        return {"p": self.p}
