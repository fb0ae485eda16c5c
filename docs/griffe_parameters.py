"""A Griffe extension for the API reference (mkdocs.yml, mkdocstrings' ``extensions``).

A few docstrings list their arguments numpydoc-fashion, one ``name : what it is`` a line under
a ``Parameters`` header underlined with dashes, indented lines continuing the one above. Read
as Markdown that header becomes a heading and the list one run-on paragraph, so this turns the
block into a Markdown list (``- `name`: what it is``) before mkdocstrings renders it. The
docstrings themselves are untouched; nothing else in them changes.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ITEM = re.compile(r"^(?P<names>[A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_]\w*)*)\s+:\s+(?P<text>.*)$")


def listed_parameters(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        underlined = i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip())
        if lines[i].strip() == "Parameters" and underlined:
            out += ["**Parameters**", ""]
            i += 2
            while i < len(lines) and lines[i].strip():
                match = ITEM.match(lines[i])
                if match:
                    names = ", ".join(f"`{name.strip()}`" for name in match["names"].split(","))
                    out.append(f"- {names}: {match['text']}")
                else:  # a continuation line
                    out.append("  " + lines[i].strip())
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


class ParametersAsList(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and "Parameters" in obj.docstring.value:
            obj.docstring.value = listed_parameters(obj.docstring.value)
