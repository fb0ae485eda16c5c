"""One training step with every number shown: forward, loss, backward, gradient check, update.

``explain(model, loss, x, t)`` runs ONE real step of gradient descent on the batch ``(x, t)``
with the library's own components and returns a document (plain text or Markdown) of it in
the seeds' notation. Three parts: ``trace`` runs the step and keeps every array (``trace_step``
returns a ``StepTrace``), ``document`` turns the trace into one list of blocks, ``render``
draws that list as text or as Markdown.
"""

from __future__ import annotations

import numpy as np

from .. import validation
from ..layers.base import Layer
from ..losses import Loss
from .document import document
from .render import render_markdown, render_text
from .trace import LayerRecord, Probe, StepTrace, trace_step

__all__ = ["LayerRecord", "Probe", "StepTrace", "explain", "trace_step"]


def explain(
    model: Layer,
    loss: Loss,
    x: np.ndarray,
    t: np.ndarray,
    lr: float = 0.1,
    format: str = "text",
    max_elements: int = 64,
    precision: int = 6,
    apply: bool = True,
    fd_elements: int = 12,
    seed: int = 0,
) -> str:
    """Run one training step on ``(x, t)`` and return a document showing every number of it.

    The step is real: forward through each layer, ``L = loss(outputs, t)``, backward through
    each layer in reverse, and plain SGD ``w <- w - eta dL/dw`` with ``eta = lr``. With
    ``apply=True`` (the default) the model keeps the updated parameters, as after any training
    step; ``apply=False`` puts the old ones back.

    Parameters
    ----------
    model : a ``Sequential`` or a single layer.
    loss : the loss; the fused ``SoftmaxCrossEntropy`` shows ``dL/dz = (p - t) / N``.
    x, t : a small batch (a few samples: every array of it is printed).
    lr : the learning rate ``eta``.
    format : ``"text"`` (aligned, for a terminal) or ``"markdown"`` (a handout).
    max_elements : arrays with more entries are shown as shape, norm and first values.
    precision : digits after the decimal point.
    fd_elements : parameters up to this size are checked by finite differences element by
        element, larger ones along three random unit directions (seeded by ``seed``).

    Use float64 parameters for a meaningful check: in float32 the finite differences agree
    to about 1e-3 only, and the document says so.
    """
    if format not in ("text", "markdown"):
        raise ValueError(f"explain: format must be 'text' or 'markdown', got {format!r}")
    validation.positive_integer("explain", "max_elements", max_elements)
    trace = trace_step(model, loss, x, t, lr=lr, apply=apply, fd_elements=fd_elements, seed=seed)
    blocks = document(trace, model)
    if format == "markdown":
        return render_markdown(blocks, max_elements, precision)
    return render_text(blocks, max_elements, precision)

