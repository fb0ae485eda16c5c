"""The explain document as HTML: formulas typeset, arrays as heat-map tables, each part collapsible.

The third rendering of the blocks (``render.py`` draws text and Markdown). A formula, written
between backticks in the seeds' plain notation (``delta_2 = dL/dz_2 = (p - t) / N``), becomes
TeX between ``$`` signs (``\\delta_{2} = \\partial L/\\partial z_{2} = (p - t) / N``), which
Jupyter typesets with its MathJax; a standalone page loads MathJax itself and, offline, shows
the TeX. A small array is a table whose cells are shaded by value (blue below 0, red above, the
strongest colour at the array's largest magnitude), so the pattern of a gradient shows at a
glance; a large one is its shape, norm and first values. Each numbered part of the step
(forward, loss, backward, check, update) is a ``<details>`` element, open by default.
"""

from __future__ import annotations

import html
import re

import numpy as np

from .render import Array, Block, Heading, Para, Table, shape_text

MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"
STYLE = """
.bp-explain { font-family: system-ui, sans-serif; line-height: 1.45; max-width: 60rem; }
.bp-explain table { border-collapse: collapse; margin: 0.4rem 0 0.8rem; }
.bp-explain th, .bp-explain td { border: 1px solid #ccc; padding: 0.15rem 0.45rem; text-align: right; }
.bp-explain th { text-align: left; }
.bp-explain td.bp-text { text-align: left; }
.bp-explain table.bp-array td { font-family: ui-monospace, monospace; font-size: 0.85rem; }
.bp-explain summary h3 { display: inline; }
.bp-explain .bp-label { margin: 0.6rem 0 0; }
"""

_GREEK = ("eta", "delta", "Delta", "sigma", "mu", "gamma", "beta", "epsilon", "lambda")
_OPERATORS = ("softmax", "sigmoid", "ReLU", "tanh", "GELU", "LeakyReLU")


def to_tex(formula: str) -> str:
    """A formula in the seeds' plain notation as TeX: braced subscripts, Greek, partials, ``*`` as odot."""
    tex = formula
    tex = re.sub(r"dL/d(\([^)]*\)|[A-Za-z]+(?:_[A-Za-z0-9]+)?)", r"\\partial L/\\partial \1", tex)
    tex = re.sub(r"<(\\partial L/\\partial \w+), (\w+)>", r"\\langle \1, \2 \\rangle", tex)
    tex = re.sub(r"\bsum_([A-Za-z0-9]+)", r"\\sum_{\1}", tex)
    tex = re.sub(r"\b([A-Za-z])_hat\b", r"\\hat{\1}", tex)
    tex = re.sub(r"\bln\b", r"\\ln", tex)
    tex = re.sub(r"\bexp\b", r"\\exp", tex)
    for word in _GREEK:
        tex = re.sub(rf"\b{word}\b", rf"\\{word}", tex)
        tex = re.sub(rf"\b{word}_", rf"\\{word}_", tex)
    for word in _OPERATORS:
        tex = re.sub(rf"\b{word}\b", rf"\\operatorname{{{word}}}", tex)
    tex = re.sub(r"(?<![\\{])\b([A-Za-z])_([A-Za-z0-9]+)\b", r"\1_{\2}", tex)
    tex = re.sub(r"(\\[A-Za-z]+)_([A-Za-z0-9]+)\b", r"\1_{\2}", tex)
    tex = tex.replace("<-", r"\leftarrow").replace(" * ", r" \odot ")
    # Words of prose inside a formula ("before", "its input") stay upright text.
    return re.sub(r"(?<![\\{A-Za-z])([A-Za-z]{3,}(?:[ -][A-Za-z]{2,})*)(?![A-Za-z{(])", r"\\;\\text{\1}", tex)


def _inline(text: str) -> str:
    """Prose with its backticked formulas as ``$TeX$`` (a trailing ``   (comment)`` kept as text)."""
    parts = text.split("`")
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(html.escape(part, quote=False))
            continue
        formula, _, comment = part.partition("   (")
        out.append(f"${html.escape(to_tex(formula.strip()), quote=False)}$" if formula.strip() else "")
        if comment:
            out.append(f" ({html.escape(comment, quote=False)}")
    return "".join(out)


def _shade(value: float, largest: float) -> str:
    """A cell's background: blue for negative, red for positive, white at 0, full at ``largest``."""
    if not largest or not np.isfinite(value):
        return ""
    strength = min(1.0, abs(value) / largest)
    fade = round(255 * (1 - 0.6 * strength))
    colour = f"rgb({fade}, {fade}, 255)" if value < 0 else f"rgb(255, {fade}, {fade})"
    return f' style="background: {colour}"'


def _array(block: Array, max_elements: int, precision: int) -> str:
    value = block.value
    symbol = html.escape(to_tex(block.label), quote=False)
    label = f'<p class="bp-label">${symbol}$, shape {shape_text(value.shape)}</p>'
    if value.size > max_elements or value.ndim > 2 or not np.issubdtype(value.dtype, np.number):
        norm = float(np.linalg.norm(value)) if np.issubdtype(value.dtype, np.number) else float("nan")
        first = ", ".join(f"{v:.3g}" for v in np.ravel(value)[:3])
        return label + f"<p>norm {norm:.4g}, first values [{first}, ...]</p>"
    grid = np.atleast_2d(value + 0.0 if np.issubdtype(value.dtype, np.floating) else value)
    finite = grid[np.isfinite(grid)] if np.issubdtype(grid.dtype, np.floating) else grid
    largest = float(np.max(np.abs(finite))) if finite.size else 0.0
    rows = []
    for row in grid:
        cells = "".join(f"<td{_shade(float(v), largest)}>{v:.{precision}g}</td>" for v in row)
        rows.append(f"<tr>{cells}</tr>")
    return label + f'<table class="bp-array">{"".join(rows)}</table>'


def _table(block: Table) -> str:
    head = "".join(f"<th>{_inline(cell)}</th>" for cell in block.header)
    align = block.align or "l" * len(block.header)
    text = ' class="bp-text"'
    rows = []
    for row in block.rows:
        cells = "".join(f"<td{'' if a == 'r' else text}>{_inline(cell)}</td>" for cell, a in zip(row, align))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def render_html(blocks: list[Block], max_elements: int, precision: int, standalone: bool = False) -> str:
    """The document as an HTML fragment for a notebook, or with ``standalone`` a whole page."""
    parts: list[str] = []
    open_section = False
    for block in blocks:
        if isinstance(block, Heading) and block.level == 1:
            if open_section:
                parts.append("</details>")
            parts.append(f"<details open><summary><h3>{_inline(block.text)}</h3></summary>")
            open_section = True
        elif isinstance(block, Heading):
            tag = "h2" if block.level == 0 else "h4"
            parts.append(f"<{tag}>{_inline(block.text)}</{tag}>")
        elif isinstance(block, Para):
            parts.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Table):
            parts.append(_table(block))
        else:
            parts.append(_array(block, max_elements, precision))
    if open_section:
        parts.append("</details>")
    body = f'<div class="bp-explain"><style>{STYLE}</style>{"".join(parts)}</div>'
    if not standalone:
        return body
    config = "window.MathJax = {tex: {inlineMath: [['$', '$']]}};"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>One training step, every number</title>"
        f'<script>{config}</script><script async src="{MATHJAX}"></script></head>'
        f"<body>{body}</body></html>\n"
    )
