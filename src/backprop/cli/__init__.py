"""The ``backprop`` command: one module per sub-command, each with ``add_parser`` and ``run``.

A mistake of the user's raises ``UserError``; ``main`` prints it as one line on stderr and
exits with status 2. Anything else is a bug of ours and keeps its traceback. Ctrl-C exits with
status 130 and SIGTERM with 143 (128 + the signal's number), in both cases after the files
being written are cleaned up (``errors.Terminated``). NumPy's
floating-point warnings are silenced: a loss that overflows is reported by ``fit``'s
divergence stop in one sentence, not by lines of ``RuntimeWarning`` with our source paths.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import bench, evaluate, example, gradcheck, lab, predict, report, serve, train
from .errors import Terminated, UserError, raise_terminated

COMMANDS = (train, evaluate, predict, report, serve, lab, gradcheck, example, bench)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="backprop", description="Neural networks with hand-written backprop.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    previous = _handle_sigterm()
    try:
        args = build_parser().parse_args(argv)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return int(args.run(args) or 0)
    except UserError as error:
        print(f"backprop: error: {error}", file=sys.stderr)
        return 2
    except Terminated:
        print("backprop: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("backprop: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _handle_sigterm() -> Any:
    """Make SIGTERM raise ``Terminated`` (main thread only); return the handler it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, raise_terminated)
