"""The last hour of HTTP requests answered by this process: when, which route, status, how long.

Prometheus counters only grow, so they cannot say what happened in the last five minutes without
a Prometheus server; the live system map (``bakusoku.graph.live``) reads its window from here.
Bounded twice: nothing older than an hour, and at most ``capacity`` requests.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

KEPT_SECONDS = 3600.0


@dataclass(frozen=True)
class AnsweredRequest:
    at: float  # epoch seconds when the answer ended
    route: str
    status: int
    seconds: float


class RecentRequests:
    """Appended to by the operations middleware, read by the map's route."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._requests: deque[AnsweredRequest] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(self, route: str, status: int, seconds: float, at: float | None = None) -> None:
        answered = AnsweredRequest(time.time() if at is None else at, route, status, seconds)
        with self._lock:
            self._requests.append(answered)
            while self._requests and self._requests[0].at < answered.at - KEPT_SECONDS:
                self._requests.popleft()

    def since(self, start: float) -> list[AnsweredRequest]:
        with self._lock:
            return [r for r in self._requests if r.at >= start]
