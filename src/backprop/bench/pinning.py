"""One pinned core for the whole benchmark: every thread of this process on one CPU.

On a shared machine the second core comes and goes, and a spinning thread pool then
collapses 5-20x; one thread per framework on one pinned core is the setting that gives
stable ratios. ``os.sched_setaffinity(0, ...)`` on Linux moves only the calling thread, so
``pin_to_one_core`` moves every thread listed in ``/proc/self/task`` (NumPy's OpenBLAS starts
its pool when NumPy is imported, before any benchmark code runs); threads started later
(PyTorch's pool, XLA's) inherit the affinity of the thread that starts them, and so do child
processes. XLA still starts a pool of its own (about a dozen threads), all confined to the
pinned core.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any


def usable_cores() -> set[int]:
    """The CPUs this process may run on (all of ``os.cpu_count()`` where affinity is unknown)."""
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


def _thread_ids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def _set_every_thread(cores: set[int]) -> int:
    """Give every thread of this process the affinity ``cores``; returns how many were moved."""
    moved = 0
    for tid in _thread_ids():
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, cores)
            moved += 1
    return moved


@contextlib.contextmanager
def pinned_to_one_core(core: int | None = None) -> Iterator[dict[str, Any]]:
    """Inside the block every thread of this process runs on ``core`` (default: the highest usable).

    Yields the record the report prints: ``{"pinned": True, "core": c, "threads_moved": k}``,
    or ``{"pinned": False, "reason": ...}`` where the platform has no affinity call. The
    previous affinity is given back to every thread afterwards.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield {"pinned": False, "reason": "os.sched_setaffinity is not available on this platform"}
        return
    before = usable_cores()
    chosen = max(before) if core is None else core
    if chosen not in before:
        raise ValueError(f"bench: core {chosen} is not one this process may use ({sorted(before)})")
    moved = _set_every_thread({chosen})
    try:
        yield {"pinned": True, "core": chosen, "threads_moved": moved}
    finally:
        _set_every_thread(before)
