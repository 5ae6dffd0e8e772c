"""Uploads before processing on one machine: background tasks wait while uploads arrive.

On AWS, S3 acknowledges an upload on machines that never run a Lambda. Embedded, the store and
the workers share the same cores and the same disk: a burst of uploads that starts processing at
once would share its CPU with the renditions (and its fsyncs with their writes), and every
acknowledgement would wait for them. So while upload bodies arrive, a new background task (a
workflow's Lambda task, a declared function's event) first waits until the uploads pause for
``QUIET_SECONDS``, but never longer than ``max_hold_seconds``: a steady stream of uploads delays
processing by at most that, and never stops it.

The store process tells of upload activity with best-effort datagrams (:class:`UploadSignal`,
at most one per ``SIGNAL_INTERVAL_SECONDS``); a lost one only lets a task start sooner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Uploads count as paused after this long without a body byte arriving. Sequential uploads by
# one client leave only a presign round trip between two bodies, far less than this.
QUIET_SECONDS = 0.15
# The store tells of an upload's progress at most this often (per store process).
SIGNAL_INTERVAL_SECONDS = 0.05


class UploadPriority:
    """Where background tasks wait for the uploads to pause (see the module's docstring)."""

    def __init__(
        self,
        max_hold_seconds: float,
        *,
        quiet_seconds: float = QUIET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._max_hold = max_hold_seconds
        self._quiet = quiet_seconds
        self._clock = clock
        self._sleep = sleep
        self._last_upload = float("-inf")
        self._lock = threading.Lock()

    def upload_seen(self) -> None:
        """An upload body is arriving now (called for each of the store's signals)."""
        with self._lock:
            self._last_upload = self._clock()

    def wait_for_quiet(self) -> float:
        """Return once uploads paused, or after ``max_hold_seconds``; the seconds waited."""
        started = self._clock()
        while True:
            now = self._clock()
            with self._lock:
                quiet_at = self._last_upload + self._quiet
            held_until = started + self._max_hold
            if now >= quiet_at or now >= held_until:
                return now - started
            self._sleep(min(quiet_at, held_until) - now)


class UploadSignal:
    """The store's side: calls ``send`` for upload progress, at most once per interval."""

    def __init__(
        self,
        send: Callable[[], None],
        *,
        interval_seconds: float = SIGNAL_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval_seconds
        self._clock = clock
        self._last_sent = float("-inf")

    def __call__(self) -> None:
        now = self._clock()
        # No lock: the event loop and the threads receiving bodies call this; a race costs at
        # most one extra datagram in an interval, which the listener takes as the same news.
        if now - self._last_sent >= self._interval:
            self._last_sent = now
            self._send()
