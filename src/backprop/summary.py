"""A model as a table of its layers: output shape, parameters, dtype, memory layout, bytes.

``model.summary(input_shape=(1, 28, 28))`` runs one sample of zeros through a copy of the
model in ``eval()`` mode, layer by layer, and records what each layer gives (Keras's
``summary()``; the copy keeps the model's own state untouched). Without an input shape the
shapes are left out. The ``Summary`` prints as a text table and shows as an HTML table in a
notebook, where a ``Sequential`` displays its own summary (with the shapes of the last batch
it saw).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from html import escape

import numpy as np

from .layers.base import Layer
from .layers.channels import is_channels_last
from .tables import format_table


@dataclass
class LayerRow:
    """One layer of the summary; ``output_shape`` is per sample, None where no input shape was given."""

    index: int
    layer: str
    output_shape: tuple[int, ...] | None
    parameters: int
    dtype: str
    layout: str


@dataclass
class Summary:
    """The table of a model's layers, its total parameters and the bytes they take."""

    model: str
    input_shape: tuple[int, ...] | None
    rows: list[LayerRow]
    parameters: int
    parameter_bytes: int
    buffer_bytes: int

    HEADER = ("#", "layer", "output shape", "parameters", "dtype", "layout")

    def _cells(self) -> list[list[str]]:
        return [
            [
                str(row.index),
                row.layer,
                "-" if row.output_shape is None else _shape(row.output_shape),
                f"{row.parameters:,}",
                row.dtype,
                row.layout,
            ]
            for row in self.rows
        ]

    def _totals(self) -> str:
        text = f"{self.parameters:,} parameters, {_bytes(self.parameter_bytes)}"
        if self.buffer_bytes:
            text += f"; buffers (running statistics) {_bytes(self.buffer_bytes)}"
        if self.input_shape is not None:
            text += f"; input {_shape(self.input_shape)} per sample"
        return text

    def __str__(self) -> str:
        lines = [self.model, *format_table(list(self.HEADER), self._cells(), "rlrrll"), self._totals()]
        return "\n".join(lines)

    __repr__ = __str__

    def html(self) -> str:
        """The summary as an HTML table (what a notebook shows)."""
        head = "".join(f"<th>{name}</th>" for name in self.HEADER)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"
            for cells in self._cells()
        )
        return (
            f'<div class="bp-summary"><p><b>{escape(self.model)}</b></p>'
            f"<table><tr>{head}</tr>{body}</table><p>{escape(self._totals())}</p></div>"
        )

    _repr_html_ = html


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(size) for size in shape) + ("," if len(shape) == 1 else "") + ")"


def _bytes(count: int) -> str:
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _name(layer: Layer) -> str:
    """The layer as its row names it: a residual block by its parts' count, not every part."""
    block = getattr(layer, "block", None)
    if block is None:
        return str(layer)
    parts = len(getattr(block, "layers", [block]))
    shortcut = getattr(layer, "shortcut", None)
    return f"{type(layer).__name__}({parts} layers" + (", a projection shortcut)" if shortcut else ")")


def _layout(output: np.ndarray | None) -> str:
    if output is None or output.ndim != 4:
        return ""
    return "channels-last" if is_channels_last(output) else "NCHW"


def summarize(model: Layer, input_shape: tuple[int, ...] | None = None, name: str = "") -> Summary:
    """The summary of ``model`` (a ``Sequential``'s layers, or one layer), shapes for ``input_shape``."""
    layers = list(getattr(model, "layers", [model]))
    outputs: list[np.ndarray | None] = [None] * len(layers)
    if input_shape is not None:
        shape = tuple(int(size) for size in input_shape)
        dtype = next((p.dtype for p in model.params.values()), np.dtype(np.float32))
        probe = copy.deepcopy(layers)
        x = np.zeros((1, *shape), dtype)
        for index, layer in enumerate(probe):
            layer.eval()
            try:
                x = layer(x)
            except (ValueError, TypeError) as error:
                raise ValueError(
                    f"summary: input shape {_shape(shape)} does not fit layer {index}, {layer}: {error}"
                ) from error
            outputs[index] = x
    rows = []
    for index, (layer, output) in enumerate(zip(layers, outputs)):
        params = list(layer.params.values())
        dtype_name = params[0].dtype.name if params else ("" if output is None else output.dtype.name)
        rows.append(
            LayerRow(
                index,
                _name(layer),
                None if output is None else tuple(output.shape[1:]),
                sum(p.size for p in params),
                dtype_name,
                _layout(output),
            )
        )
    return Summary(
        name or type(model).__name__,
        None if input_shape is None else tuple(int(size) for size in input_shape),
        rows,
        sum(p.size for p in model.params.values()),
        sum(p.nbytes for p in model.params.values()),
        sum(b.nbytes for b in model.buffers.values()),
    )
