"""Parents' reference photos: held in this process's memory for their session, never written.

A parent gives one to three photos of their child to search the album with. They are needed
again for each search as the parent confirms and rejects results, so they are kept, but only
here: not in the database, not in the object store, not on disk (nor in a log line). They go
when the session ends, when it expires (dropped on the next call that looks), or when the
process stops. Where the API runs in several processes (Lambda's execution environments), a
process that does not hold a session's photos says so and the page sends them again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_REFERENCES = 3


@dataclass
class _Held:
    expires_at: float
    photos: list[bytes] = field(default_factory=list)


class ReferencePhotos:
    """Reference photos by session id, each session's at most ``MAX_REFERENCES``."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}

    def add(self, session_id: str, photo: bytes, *, expires_at: float) -> int | None:
        """Keep ``photo`` for the session; how many it now has, or None when it has the most."""
        with self._lock:
            self._purge()
            held = self._held.setdefault(session_id, _Held(expires_at))
            if len(held.photos) >= MAX_REFERENCES:
                return None
            held.photos.append(photo)
            held.expires_at = expires_at
            return len(held.photos)

    def get(self, session_id: str) -> list[bytes]:
        with self._lock:
            self._purge()
            held = self._held.get(session_id)
            return list(held.photos) if held else []

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._held.pop(session_id, None)

    def sessions(self) -> int:
        """How many sessions hold photos (expired ones dropped first)."""
        with self._lock:
            self._purge()
            return len(self._held)

    def _purge(self) -> None:
        now = self._clock()
        for session_id in [s for s, h in self._held.items() if h.expires_at <= now]:
            del self._held[session_id]
