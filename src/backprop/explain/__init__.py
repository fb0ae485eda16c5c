"""One training step with every number shown: forward, loss, backward, gradient check, update.

``explain(model, loss, x, t)`` runs ONE real step of gradient descent on the batch ``(x, t)``
with the library's own components and returns a document (plain text or Markdown) of it in
the seeds' notation. Three parts: ``trace`` runs the step and keeps every array (``trace_step``
returns a ``StepTrace``), ``document`` turns the trace into one list of blocks, ``render``
draws that list as text or as Markdown, ``html`` as HTML with the formulas typeset.

What ``explain`` returns is the text itself (an ``Explanation``, a ``str``), which a notebook
displays as HTML: formulas typeset, arrays shaded by value, each part collapsible.
"""

from __future__ import annotations

import numpy as np

from .. import validation
from ..layers.base import Layer
from ..losses import Loss
from .document import document
from .html import render_html
from .render import Block, render_markdown, render_text
from .trace import LayerRecord, Probe, StepTrace, trace_step

__all__ = ["Explanation", "LayerRecord", "Probe", "StepTrace", "explain", "trace_step"]


class Explanation(str):
    """``explain``'s document: a ``str`` (print it, write it to a file) that Jupyter shows as HTML.

    ``html()`` is the standalone page (``format="html"``), which opens in a browser offline.
    """

    blocks: list[Block]
    max_elements: int
    precision: int

    def __new__(cls, text: str, blocks: list[Block], max_elements: int, precision: int) -> Explanation:
        explanation = super().__new__(cls, text)
        explanation.blocks, explanation.max_elements, explanation.precision = blocks, max_elements, precision
        return explanation

    def _repr_html_(self) -> str:
        return render_html(self.blocks, self.max_elements, self.precision)

    def html(self) -> str:
        """The whole document as a standalone HTML page."""
        return render_html(self.blocks, self.max_elements, self.precision, standalone=True)


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
) -> Explanation:
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
    format : ``"text"`` (aligned, for a terminal), ``"markdown"`` (a handout) or ``"html"`` (a
        standalone page: formulas typeset by MathJax, arrays shaded by value). Whichever it is,
        a notebook displays the result as HTML.
    max_elements : arrays with more entries are shown as shape, norm and first values.
    precision : digits after the decimal point.
    fd_elements : parameters up to this size are checked by finite differences element by
        element, larger ones along three random unit directions (seeded by ``seed``).

    Use float64 parameters for a meaningful check: in float32 the finite differences agree
    to about 1e-3 only, and the document says so.
    """
    if format not in ("text", "markdown", "html"):
        raise ValueError(f"explain: format must be 'text', 'markdown' or 'html', got {format!r}")
    validation.positive_integer("explain", "max_elements", max_elements)
    trace = trace_step(model, loss, x, t, lr=lr, apply=apply, fd_elements=fd_elements, seed=seed)
    blocks = document(trace, model)
    if format == "html":
        text = render_html(blocks, max_elements, precision, standalone=True)
    elif format == "markdown":
        text = render_markdown(blocks, max_elements, precision)
    else:
        text = render_text(blocks, max_elements, precision)
    return Explanation(text, blocks, max_elements, precision)

