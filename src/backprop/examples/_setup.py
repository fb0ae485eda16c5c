"""What every example hands to ``bp.explain``: its model, loss, a small batch and a learning rate."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..layers.base import Layer
from ..losses import Loss


class ExplainSetup(NamedTuple):
    """The arguments of ``bp.explain`` for one step of an example's model."""

    model: Layer
    loss: Loss
    x: np.ndarray
    t: np.ndarray
    lr: float
    precision: int = 6
