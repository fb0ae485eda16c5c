"""The argument checks every room shares: one rule per kind of value, one shape of message.

Every check takes the ``owner`` (the component or function, as its messages name it: ``Linear``,
``SGD``, ``fit``), the argument's ``name`` and its ``value``, and returns the value as the plain
Python type or raises ``ValueError("<owner>: <name> must be <what>, got <value!r>")``.

The rules, the same everywhere (they used to differ from room to room, so that
``bp.Linear(True, 3)`` built ``Linear(1 -> 3)`` and ``fit(batch_size=True)`` trained):

- an integer is a Python or NumPy integer, never a ``bool`` (``True`` is an ``int`` in Python)
  and never a float, even a whole one;
- a number is a Python or NumPy real number, never a ``bool``, and finite;
- a flag is ``True`` or ``False`` (NumPy's too), nothing else that happens to be truthy.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, TypeGuard

import numpy as np

__all__ = [
    "flag",
    "fraction",
    "is_integer",
    "is_number",
    "non_negative",
    "non_negative_integer",
    "positive",
    "positive_integer",
    "positive_integer_or_none",
    "probability",
]


def is_integer(value: object) -> TypeGuard[int]:
    """A Python or NumPy integer that is not a ``bool`` (to a type checker: an ``int``)."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value: object) -> TypeGuard[float]:
    """A finite Python or NumPy real number that is not a ``bool`` (to a type checker: a ``float``)."""
    return (
        isinstance(value, (numbers.Real, np.floating, np.integer))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(float(value))
    )


def _fail(owner: str, name: str, what: str, value: Any) -> ValueError:
    return ValueError(f"{owner}: {name} must be {what}, got {value!r}")


def positive_integer(owner: str, name: str, value: Any) -> int:
    """An integer >= 1."""
    if not is_integer(value) or value < 1:
        raise _fail(owner, name, "a positive integer", value)
    return int(value)


def non_negative_integer(owner: str, name: str, value: Any) -> int:
    """An integer >= 0."""
    if not is_integer(value) or value < 0:
        raise _fail(owner, name, "a non-negative integer", value)
    return int(value)


def positive_integer_or_none(owner: str, name: str, value: Any) -> int | None:
    """None, or an integer >= 1."""
    if value is not None and (not is_integer(value) or value < 1):
        raise _fail(owner, name, "a positive integer or None", value)
    return None if value is None else int(value)


def positive(owner: str, name: str, value: Any) -> float:
    """A finite number > 0."""
    if not is_number(value) or value <= 0:
        raise _fail(owner, name, "a positive number", value)
    return float(value)


def non_negative(owner: str, name: str, value: Any) -> float:
    """A finite number >= 0."""
    if not is_number(value) or value < 0:
        raise _fail(owner, name, "a non-negative number", value)
    return float(value)


def fraction(owner: str, name: str, value: Any) -> float:
    """A number in [0, 1): a momentum, a beta, a share held out."""
    if not is_number(value) or not 0 <= value < 1:
        raise _fail(owner, name, "a number in [0, 1)", value)
    return float(value)


def probability(owner: str, name: str, value: Any) -> float:
    """A probability in [0, 1) (a dropout rate: 1 would drop everything)."""
    if not is_number(value) or not 0 <= value < 1:
        raise _fail(owner, name, "a probability in [0, 1)", value)
    return float(value)


def flag(owner: str, name: str, value: Any) -> bool:
    """``True`` or ``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(owner, name, "True or False", value)
    return bool(value)
