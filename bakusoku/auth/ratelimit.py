"""Per-key token buckets: how many presign requests a key may make, and when it may try again."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """``burst`` requests at once, refilled at ``per_minute``; ``per_minute`` 0 means no limit.

    Buckets live in this process (one API process locally; one execution environment on Lambda,
    where API Gateway's own throttling is the outer limit).
    """

    def __init__(
        self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_minute / 60.0
        self.burst = max(burst, 1)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def waiting(self, key: str) -> int | None:
        """The seconds ``key`` must wait before its next request, without taking a token (None:
        it may go now): for limits that count only failures, checked before the attempt."""
        if self.per_second <= 0:
            return None
        now = self._clock()
        with self._lock:
            tokens = self._tokens(key, now)
        return None if tokens >= 1.0 else self._wait_for_one(tokens)

    def acquire(self, key: str) -> int | None:
        """Take one token for ``key``; None if allowed, else the seconds to wait (Retry-After)."""
        if self.per_second <= 0:
            return None
        now = self._clock()
        with self._lock:
            tokens = self._tokens(key, now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return self._wait_for_one(tokens)

    def _tokens(self, key: str, now: float) -> float:
        """``key``'s tokens at ``now``: what was left, refilled since, at most ``burst``."""
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.per_second)

    def _wait_for_one(self, tokens: float) -> int:
        """Whole seconds (at least 1) until ``tokens`` refill to one."""
        return max(1, math.ceil((1.0 - tokens) / self.per_second))
