"""Scores in the units the user knows: a regression's loss on its target's own scale.

``train`` fits a regressor to standardised targets (``Preprocessing.apply_targets``); its
squared error there is the original one divided by ``target_std^2``. The test loss that
``train`` and ``evaluate`` report is computed after turning the predictions back with
``Preprocessing.inverse_targets``, so it is the mean squared error in the target's units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import backprop as bp

from ..runs.preprocessing import Preprocessing
from ..targets import network_targets


def score(
    model: bp.Layer,
    loss: bp.Loss,
    x: np.ndarray,
    y: np.ndarray,
    preprocessing: Preprocessing,
    distributed: Any = None,
) -> dict[str, float]:
    """``bp.evaluate``'s ``{"loss", "accuracy"}``; for standardised targets the loss in their units.

    ``distributed`` (a ``bp.distributed.DataParallel``) splits the evaluation across the ranks;
    the regression path predicts the whole set on every rank, which gives every rank the same.
    """
    if not preprocessing.standardises_targets:
        return bp.evaluate(model, loss, x, network_targets(loss, y, x.dtype), distributed=distributed)
    predictions = preprocessing.inverse_targets(bp.predict(model, x).astype(np.float64))
    return {"loss": loss(predictions, preprocessing.inverse_targets(np.asarray(y, np.float64)))}
