"""The one exception the command line turns into a one-line message and exit status 2, warnings,
and SIGTERM turned into an exception."""

import sys
from typing import Any


class UserError(Exception):
    """A mistake of the user's: a missing file, a bad option value, mismatched shapes."""


class Terminated(KeyboardInterrupt):
    """SIGTERM outside training (``fit`` handles it itself, as Ctrl-C: the step finishes first).

    Raised where the process happens to be, so that, as for Ctrl-C, a file being written is
    removed rather than left half-written (``files.atomic_write``) and a run folder is tidied.
    """


def raise_terminated(signum: int, frame: Any) -> None:
    """The SIGTERM handler of the command line."""
    raise Terminated()


def warn(message: str) -> None:
    """A useless option or a doubtful request: one line on stderr, and the command goes on."""
    print(f"backprop: warning: {message}", file=sys.stderr)
