"""MathML for the lab's arithmetic panel: formulas the browser typesets itself, offline.

Chromium, Firefox and Safari render MathML Core natively, so the panel needs no MathJax and no
download. Every number is an ``<mn>`` carrying its full value in ``data-value`` (the shown
digits are rounded) and, where it is one of the step's named quantities, ``data-quantity`` and
``data-scope`` (``sample`` or ``batch``), so a test or a teacher's script reads the exact
numbers the library computed.
"""

from __future__ import annotations

from html import escape

__all__ = ["block", "number", "operator", "summation", "symbol", "text"]


def _index(part: str) -> str:
    return f"<mn>{escape(part)}</mn>" if part.isdigit() else f"<mi>{escape(part)}</mi>"


def symbol(base: str, sub: str | None = None, sup: str | None = None) -> str:
    """An identifier with an optional subscript and superscript: ``w_{ij}^{(2)}``."""
    identifier = f"<mi>{escape(base)}</mi>"
    sub_row = f"<mrow>{_index(sub)}</mrow>" if sub is not None else None
    sup_row = f"<mrow><mo>(</mo>{_index(sup)}<mo>)</mo></mrow>" if sup is not None else None
    if sub_row and sup_row:
        return f"<msubsup>{identifier}{sub_row}{sup_row}</msubsup>"
    if sub_row:
        return f"<msub>{identifier}{sub_row}</msub>"
    if sup_row:
        return f"<msup>{identifier}{sup_row}</msup>"
    return identifier


def operator(text_: str) -> str:
    return f"<mo>{escape(text_)}</mo>"


def summation(index: str) -> str:
    """A sum over ``index``: the sigma with the index under it."""
    return f"<munder><mo>\u2211</mo>{_index(index)}</munder>"


def text(words: str) -> str:
    return f"<mtext>{escape(words)}</mtext>"


def number(value: float, quantity: str | None = None, scope: str | None = None, bracket: bool = True) -> str:
    """``value`` to 6 significant digits; a negative one in parentheses (``bracket``)."""
    attributes = f' data-value="{float(value)!r}"'
    if quantity is not None:
        attributes += f' data-quantity="{escape(quantity)}" data-scope="{escape(scope or "sample")}"'
    shown = f"{float(value):.6g}"
    if shown.startswith("-") and not bracket:
        return f"<mrow><mo>\u2212</mo><mn{attributes}>{shown[1:]}</mn></mrow>"
    if shown.startswith("-"):
        return f"<mrow><mo>(</mo><mo>\u2212</mo><mn{attributes}>{shown[1:]}</mn><mo>)</mo></mrow>"
    return f"<mn{attributes}>{shown}</mn>"


def block(*parts: str) -> str:
    """One displayed formula from its parts, in order."""
    return f'<math display="block"><mrow>{"".join(parts)}</mrow></math>'
