"""Accuracy beside the loss: which losses classify, and how many samples a batch gets right."""

from __future__ import annotations

import numpy as np

from .losses import BinaryCrossEntropy, CrossEntropy, Loss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy


def classifies(loss: Loss) -> bool:
    """Whether the loss is a classifier's, so that accuracy is counted beside it."""
    return isinstance(
        loss, (SoftmaxCrossEntropy, CrossEntropy, BinaryCrossEntropy, SigmoidBinaryCrossEntropy)
    )


def correct_count(outputs: np.ndarray, targets: np.ndarray, loss: Loss) -> int:
    """How many samples the outputs classify correctly.

    Classes: the largest output (argmax) against the label. Binary and multi-label outputs: a
    probability above 0.5 (``BinaryCrossEntropy``), or a logit above 0
    (``SigmoidBinaryCrossEntropy``: ``sigmoid(z) > 1/2`` exactly when ``z > 0``), against a
    target above 0.5; a sample is right when all of its labels are.
    """
    if isinstance(loss, (BinaryCrossEntropy, SigmoidBinaryCrossEntropy)):
        threshold = 0.0 if isinstance(loss, SigmoidBinaryCrossEntropy) else 0.5
        hits = (outputs > threshold) == (targets > 0.5)
        return int(np.all(hits.reshape(len(hits), -1), axis=1).sum())
    labels = targets if targets.ndim == 1 else targets.argmax(axis=1)
    return int(np.count_nonzero(outputs.argmax(axis=1) == labels))
