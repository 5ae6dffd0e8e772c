"""Parents' reference photos: held in this process's memory for their session, never written.

A parent gives one to three photos of their child to search the album with. They are needed
again for each search as the parent confirms and rejects results, so they are kept, but only
here: not in the database, not in the object store, not on disk (nor in a log line). They go
when the session ends, when it expires (dropped on the next call that looks), or when the
process stops. Where the API runs in several processes (Lambda's execution environments), a
process that does not hold a session's photos says so and the page sends them again.

Sessions are cheap to open (a code and a few requests), so the bytes held across all of them are
capped too: past the cap, the least recently used sessions' photos go first, and their pages
send them again as they do to a process that never held them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bakusoku.faces.search import MAX_REFERENCES

__all__ = ["DEFAULT_MAX_BYTES", "MAX_REFERENCES", "ReferencePhotos"]

# What one process holds of every session's photos unless told otherwise
# (``parent_references_held_mb``): a hundred sessions of phone photos shrunk by the page.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass
class _Held:
    expires_at: float
    photos: list[bytes] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(photo) for photo in self.photos)


class ReferencePhotos:
    """Reference photos by session id, each session's at most ``MAX_REFERENCES``, all sessions'
    at most ``max_bytes`` (or the one session's own photos, when they alone are more)."""

    def __init__(
        self, *, max_bytes: int = DEFAULT_MAX_BYTES, clock: Callable[[], float] = time.time
    ) -> None:
        self._max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._held: OrderedDict[str, _Held] = OrderedDict()  # least recently used first
        self._bytes = 0

    def add(self, session_id: str, photo: bytes, *, expires_at: float) -> int | None:
        """Keep ``photo`` for the session; how many it now has, or None when it has the most."""
        with self._lock:
            self._purge()
            held = self._held.setdefault(session_id, _Held(expires_at))
            self._held.move_to_end(session_id)
            if len(held.photos) >= MAX_REFERENCES:
                return None
            self._make_room(len(photo), keep=session_id)
            held.photos.append(photo)
            held.expires_at = expires_at
            self._bytes += len(photo)
            return len(held.photos)

    def get(self, session_id: str) -> list[bytes]:
        with self._lock:
            self._purge()
            held = self._held.get(session_id)
            if held is None:
                return []
            self._held.move_to_end(session_id)
            return list(held.photos)

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._forget(session_id)

    def held_bytes(self) -> int:
        """The bytes of every session's photos held now."""
        with self._lock:
            return self._bytes

    def sessions(self) -> int:
        """How many sessions hold photos (expired ones dropped first)."""
        with self._lock:
            self._purge()
            return len(self._held)

    def _purge(self) -> None:
        now = self._clock()
        for session_id in [s for s, h in self._held.items() if h.expires_at <= now]:
            self._forget(session_id)

    def _make_room(self, size: int, *, keep: str) -> None:
        """Drop the least recently used other sessions' photos until ``size`` more fit."""
        for session_id in list(self._held):
            if self._bytes + size <= self._max_bytes:
                return
            if session_id != keep:
                self._forget(session_id)

    def _forget(self, session_id: str) -> None:
        held = self._held.pop(session_id, None)
        if held is not None:
            self._bytes -= held.size
