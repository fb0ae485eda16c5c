"""The run folder's file names, spelt once: what ``backprop train`` writes into ``RUN/``.

``train`` writes them, ``report`` redraws the figures, ``evaluate``/``predict``/``serve`` read
the model, ``--resume`` reads the checkpoint, and the run folder (``cli.runfolder``) uses them
to tell a folder that holds a run from any other; all take the names from here.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "CHECKPOINT",
    "CONFUSION",
    "CURVES",
    "FIGURES",
    "METRICS",
    "MISCLASSIFIED",
    "MODEL",
    "RUN_FILES",
    "RUN_MARKERS",
    "WEIGHTS",
    "holds_run",
]

#: The weights, the architecture and the record (``bp.save``'s format).
MODEL = "model.safetensors"
#: The whole training state, for ``--resume`` (written after every epoch).
CHECKPOINT = "checkpoint.safetensors"
#: Test scores, per-epoch history, seed, hyper-parameters, wall time; written last.
METRICS = "metrics.json"

#: Loss and accuracy per epoch, train and validation.
CURVES = "curves.png"
#: A classifier's confusion matrix on the test split.
CONFUSION = "confusion.png"
#: The first layer's weights as images, dead ReLU units framed.
WEIGHTS = "weights.png"
#: Test images the model got wrong.
MISCLASSIFIED = "misclassified.png"
FIGURES = (CURVES, CONFUSION, WEIGHTS, MISCLASSIFIED)

#: A folder holding one of these holds a run.
RUN_MARKERS = (MODEL, CHECKPOINT, METRICS)
#: Every file a run writes.
RUN_FILES = (*RUN_MARKERS, *FIGURES)


def holds_run(folder: str | os.PathLike[str]) -> list[str]:
    """The names of the run files (model, checkpoint, metrics) in ``folder``, if any."""
    return [name for name in RUN_MARKERS if os.path.lexists(Path(folder) / name)]
