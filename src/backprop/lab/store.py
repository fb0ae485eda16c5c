"""The lab server's sessions: one per browser tab, bounded in number, expiring when idle.

A hostile or careless client cannot exhaust the server's memory: each session is bounded by
``LabConfig``'s limits (2,000 points, 6 layers of 16 units, ``MAX_HISTORY`` rows of gradient
norms), there are at most ``max_sessions`` of them (creating one more drops the one idle the
longest), and one left alone for ``ttl_s`` seconds is dropped at the next request. Session ids
are 128 random bits, so one tab cannot guess another's. Each session has its own lock: two
requests of one tab never interleave their steps, two tabs train in parallel.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .session import LabSession
from .upload import Upload

__all__ = ["Entry", "SessionStore", "UnknownSessionError"]


class UnknownSessionError(LookupError):
    """No session has this id: it expired, was dropped, or never was."""


@dataclass
class Entry:
    """One tab's session, the CSV it was made from (if any), and when it was last used."""

    session: LabSession
    upload: Upload | None
    used: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class SessionStore:
    """``create`` a session, ``use`` it by id (UnknownSessionError if unknown or expired), ``drop`` it."""

    def __init__(
        self, max_sessions: int = 64, ttl_s: float = 1800.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_sessions < 1 or ttl_s <= 0:
            raise ValueError(f"lab: max_sessions must be >= 1 and ttl_s > 0, got {max_sessions} and {ttl_s}")
        self.max_sessions, self.ttl_s, self._clock = max_sessions, ttl_s, clock
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    def _expire(self) -> None:
        deadline = self._clock() - self.ttl_s
        for key in [key for key, entry in self._entries.items() if entry.used < deadline]:
            del self._entries[key]

    def create(self, session: LabSession, upload: Upload | None = None) -> str:
        """Keep ``session``; returns its new id. The least recently used goes if the store is full."""
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            while len(self._entries) >= self.max_sessions:
                oldest = min(self._entries, key=lambda k: self._entries[k].used)
                del self._entries[oldest]
            self._entries[key] = Entry(session, upload, self._clock())
        return key

    @contextmanager
    def use(self, key: str) -> Iterator[Entry]:
        """The session ``key``, locked for this request (UnknownSessionError if there is none)."""
        with self._lock:
            self._expire()
            entry = self._entries.get(key)
            if entry is None:
                raise UnknownSessionError(key)
            entry.used = self._clock()
        with entry.lock:
            yield entry

    def drop(self, key: str) -> bool:
        with self._lock:
            self._expire()
            return self._entries.pop(key, None) is not None
