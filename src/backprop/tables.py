"""Aligned text tables, the one printer behind every table the library and the command line print.

A table is a header and rows of strings; each column is as wide as its widest cell, columns
stand two spaces apart, and trailing spaces are dropped::

    parameter  probe   relative error
    ---------  ------  --------------
    W_1        (0, 0)         1.2e-10
"""

from __future__ import annotations

from collections.abc import Sequence


def format_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: str = "",
    *,
    rule: bool = True,
    indent: str = "",
) -> list[str]:
    """The lines of the table: the header, a rule of dashes under it (``rule``), then the rows.

    ``align`` has one letter per column, ``"l"`` (left, the default for a missing letter) or
    ``"r"`` (right, for numbers); ``indent`` starts every line.
    """
    table = [list(header), *(list(row) for row in rows)]
    for row in table[1:]:
        if len(row) != len(header):
            raise ValueError(f"format_table: expected {len(header)} cells per row, got {len(row)}: {row}")
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    align = align.ljust(len(widths), "l")

    def line(row: list[str]) -> str:
        cells = [cell.rjust(w) if a == "r" else cell.ljust(w) for cell, w, a in zip(row, widths, align)]
        return (indent + "  ".join(cells)).rstrip()

    lines = [line(table[0])]
    if rule:
        lines.append(indent + "  ".join("-" * w for w in widths))
    return lines + [line(row) for row in table[1:]]
