"""The one exception the command line turns into a one-line message and exit status 2, and warnings."""

import sys


class UserError(Exception):
    """A mistake of the user's: a missing file, a bad option value, mismatched shapes."""


def warn(message: str) -> None:
    """A useless option or a doubtful request: one line on stderr, and the command goes on."""
    print(f"backprop: warning: {message}", file=sys.stderr)
