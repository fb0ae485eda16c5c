"""The training curves drawn live in a notebook: ``bp.fit(..., callbacks=[bp.LivePlot()])``.

After each epoch (or every ``every`` epochs, and at the end) the callback draws the history so
far, loss and accuracy, train against validation, as ``plot_history`` does, and puts the
picture in the cell's output in place of the previous one: one display, updated (IPython's
``display(..., display_id=True)`` and its handle's ``update``), as d2l's ``Animator`` or
fastprogress do. In a terminal ``fit`` keeps its progress bar; this callback is for Jupyter.
IPython is imported when a run starts, never by ``import backprop``.
"""

from __future__ import annotations

from typing import Any

from . import validation
from .callbacks import Callback
from .state import TrainState


class LivePlot(Callback):
    """Redraw the loss and accuracy curves in the notebook's output every ``every`` epochs."""

    def __init__(self, every: int = 1) -> None:
        self.every = validation.positive_integer("LivePlot", "every", every)
        self._handle: Any = None
        self._drawn_at = 0

    def on_fit_begin(self, state: TrainState) -> None:
        try:
            from IPython import display
        except ImportError as error:
            raise ImportError(
                "LivePlot draws in a Jupyter notebook and needs IPython: pip install ipykernel"
            ) from error
        self._display = display
        self._handle, self._drawn_at = None, 0

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0:
            self._draw(state)

    def on_fit_end(self, state: TrainState) -> None:
        if state.epoch != self._drawn_at:
            self._draw(state)

    def _draw(self, state: TrainState) -> None:
        if not any(state.history.values()):
            return
        from .plots import history_png  # matplotlib, only when drawing

        image = self._display.Image(data=history_png(state.history), format="png")
        if self._handle is None:
            self._handle = self._display.display(image, display_id=True)
        else:
            self._handle.update(image)
        self._drawn_at = state.epoch
