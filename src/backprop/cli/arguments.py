"""Argument types for the sub-commands: each turns a string into a value or says what it expected.

argparse reports an ``ArgumentTypeError`` as one line naming the option, which the command
line prints with exit status 2. What a number is follows ``backprop.validation``, the rules the
library applies again to the values it is given (finite, not a bool).
"""

from __future__ import annotations

import argparse

from ..validation import is_number


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def batch_size(text: str) -> int | None:
    return None if text == "full" else positive_int(text)


def positive_float(text: str) -> float:
    value = finite_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = finite_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    value = finite_number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def open_fraction(text: str) -> float:
    value = finite_number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number above 0 and below 1, got {text!r}")
    return value


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def finite_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not is_number(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def sizes(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive sizes like 256,128, got {text!r}"
        )
    return values


#: ``--task``'s values and the names a run records (the older spellings are still taken).
TASK_NAMES = {
    "auto": "auto",
    "classify": "classification",
    "regress": "regression",
    "classification": "classification",
    "regression": "regression",
}


def task(text: str) -> str:
    """``auto``, ``classify`` or ``regress``, as the name a run records (``classification``, ...)."""
    if text not in TASK_NAMES:
        raise argparse.ArgumentTypeError(f"expected auto, classify or regress, got {text!r}")
    return TASK_NAMES[text]
