"""Ctrl-C and SIGTERM during training: a flag read between two steps, so a step is never cut in half.

``kill``, ``timeout``, ``docker stop``, Slurm and Kubernetes send SIGTERM; a terminal sends
SIGINT. Inside ``deferred_stop`` the first of either only sets a flag, which ``fit`` reads after
each step (through its strategy, so that every MPI rank stops at the same step); it then writes
the checkpoint and raises ``TrainingInterrupted``. A second signal acts at once: the handler
that was there before takes it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["STOP_SIGNALS", "StopFlag", "deferred_stop"]

#: The signals that ask a run to stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopFlag(threading.Event):
    """Set by the first SIGINT or SIGTERM; ``signal`` says which came."""

    signal: int = signal.SIGINT


@contextlib.contextmanager
def deferred_stop() -> Iterator[StopFlag]:
    """The block's first Ctrl-C or SIGTERM sets the yielded flag instead of stopping the process.

    Only the main thread can handle signals; elsewhere the flag is never set and the signals
    behave as usual.
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def handler(signum: int, frame: Any) -> None:
        flag.signal = signum
        flag.set()
        for number, action in previous.items():
            signal.signal(number, action)

    for number in STOP_SIGNALS:
        signal.signal(number, handler)
    try:
        yield flag
    finally:
        for number, action in previous.items():
            signal.signal(number, action)
