"""Accuracy beside the loss: which losses classify, and how many samples a batch gets right."""

from __future__ import annotations

import numpy as np

from .losses import BinaryCrossEntropy, CrossEntropy, Loss, SoftmaxCrossEntropy


def classifies(loss: Loss) -> bool:
    """Whether the loss is a classifier's, so that accuracy is counted beside it."""
    return isinstance(loss, (SoftmaxCrossEntropy, CrossEntropy, BinaryCrossEntropy))


def correct_count(outputs: np.ndarray, targets: np.ndarray, loss: Loss) -> int:
    """How many samples the outputs classify correctly (argmax, or 0.5 for binary outputs)."""
    if isinstance(loss, BinaryCrossEntropy):
        hits = (outputs > 0.5) == (targets > 0.5)
        return int(np.all(hits.reshape(len(hits), -1), axis=1).sum())
    labels = targets if targets.ndim == 1 else targets.argmax(axis=1)
    return int(np.count_nonzero(outputs.argmax(axis=1) == labels))
