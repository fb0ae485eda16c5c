"""A run of ``backprop train``: its folder's layout, its record, its preprocessing, its data.

One concept per module:

=================  ==============================================================================
``layout``         the run folder's file names (``MODEL``, ``CHECKPOINT``, ``METRICS``, the
                   figures) and ``holds_run``: what tells a folder that holds a run
``record``         what ``train`` records in the model file (``RECORD_KEYS``) and ``load_run``:
                   a model file, any that the library writes, with its record as a ``Run``
``preprocessing``  ``Preprocessing``: fitted to a new run's data, applied to every input and
                   inverted on a regression's outputs, recorded as a JSON dict
``data``           a data set named by a spec (``digits``, ``mnist``, ``csv:PATH``,
                   ``idx:IMAGES,LABELS``) read, split and preprocessed: ``load``, ``Dataset``
=================  ==============================================================================

The command line (``backprop.cli``) parses options and turns these modules' ValueErrors into
one-line errors; everything a run is and does is here, usable from Python.
"""

from __future__ import annotations

from . import layout
from .preprocessing import Preprocessing, preprocess
from .record import RECORD_KEYS, Run, load_run

__all__ = ["RECORD_KEYS", "Preprocessing", "Run", "layout", "load_run", "preprocess"]
