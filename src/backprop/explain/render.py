"""The blocks of an explain document, and the two ways to draw them: plain text and Markdown.

A document is a list of blocks; both renderers walk the same list, so the text and the
Markdown versions cannot drift apart. Formulas are written between backticks: Markdown keeps
them as code (so ``*`` and ``_`` stay literal), plain text drops the backticks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tables import format_table

WIDTH = 100  # of a line of the text rendering


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    align: str = ""  # one letter per column, "l" or "r"; left by default


@dataclass
class Array:
    label: str
    value: np.ndarray


Block = Heading | Para | Table | Array


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as Python writes it: ``(3,)``, ``(2, 4)``."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _array_text(value: np.ndarray, max_elements: int, precision: int) -> str:
    if np.issubdtype(value.dtype, np.floating):
        value = value + 0.0  # -0.0 (a gradient masked by ReLU) prints as 0
    if value.size > max_elements:
        first = ", ".join(f"{v:.3g}" for v in value.ravel()[:3])
        norm = float(np.linalg.norm(value))
        return f"array of shape {shape_text(value.shape)}, norm {norm:.4g}, first values [{first}, ...]"
    return np.array2string(value, precision=precision, max_line_width=WIDTH - 4, suppress_small=False)


def _plain(text: str) -> str:
    return text.replace("`", "")


def render_text(blocks: list[Block], max_elements: int, precision: int) -> str:
    """Aligned plain text for a terminal: underlined headings, wrapped paragraphs, indented arrays."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            text = _plain(block.text)
            underline = {0: "#", 1: "=", 2: "-"}[block.level] * min(len(text), WIDTH)
            lines += ["", text, underline] if block.level else [text, underline]
        elif isinstance(block, Para):
            lines += ["", *_wrap(_plain(block.text), WIDTH)]
        elif isinstance(block, Table):
            rows = [[_plain(cell) for cell in row] for row in block.rows]
            lines += ["", *format_table([_plain(cell) for cell in block.header], rows, block.align)]
        else:
            body = _array_text(block.value, max_elements, precision)
            lines += ["", f"{block.label}   shape {shape_text(block.value.shape)}"]
            lines += ["    " + line for line in body.splitlines()]
    return "\n".join(lines).strip("\n") + "\n"


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line]


def render_markdown(blocks: list[Block], max_elements: int, precision: int) -> str:
    """Markdown for a handout: ``#`` headings, pipe tables, arrays in fenced code blocks."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += [f"{'#' * (block.level + 1)} {block.text}", ""]
        elif isinstance(block, Para):
            lines += [block.text, ""]
        elif isinstance(block, Table):
            align = block.align or "l" * len(block.header)
            lines.append("| " + " | ".join(block.header) + " |")
            lines.append("|" + "|".join(" ---: " if a == "r" else " --- " for a in align) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in block.rows]
            lines.append("")
        else:
            lines.append(f"`{block.label}`, shape `{shape_text(block.value.shape)}`:")
            lines += ["", "```", _array_text(block.value, max_elements, precision), "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
