"""What a fault is: its kind, what it acts on, how often and for how long."""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from bakusoku.errors import BakusokuError

# Each kind, and what it does while it is in force.
KINDS: dict[str, str] = {
    "db.cut": "new and pooled database connections are refused, as when the server is unreachable",
    "db.slow": "every database statement waits latency_ms before it is sent",
    "store.fail": "the functions' object-store calls fail as S3's 503 SlowDown (storage.unavailable)",
    "store.slow": "the functions' object-store calls wait latency_ms first",
    "function.throttle": "invocations of the target function (all: none named) answer "
    "Lambda.TooManyRequestsException",
    "workers.kill": "the target function's worker processes (all: none named) are killed with "
    "SIGKILL every interval_seconds",
}
LATENCY_KINDS = frozenset({"db.slow", "store.slow"})
DEFAULT_LATENCY_MS = 500
DEFAULT_INTERVAL_SECONDS = 2.0
MAX_LATENCY_MS = 60_000


class FaultError(BakusokuError):
    """A fault that cannot be injected as asked: the message names the field and what to use."""

    code = "request.invalid"


@dataclass(frozen=True)
class Fault:
    """One fault in force from ``started_at`` until ``expires_at`` (seconds since the epoch).

    ``target`` names a function (``make-renditions``) for the function and worker kinds; empty,
    the fault acts on every function. ``percentage`` is the share of calls (or connections, or
    workers) it hits, ``latency_ms`` what a slow kind adds, ``interval_seconds`` how often
    ``workers.kill`` kills.
    """

    id: str
    kind: str
    started_at: float
    expires_at: float
    target: str = ""
    percentage: float = 100.0
    latency_ms: int = 0
    interval_seconds: float = 0.0

    def in_force(self, now: float) -> bool:
        return self.started_at <= now < self.expires_at

    def acts_on(self, target: str) -> bool:
        return not self.target or self.target == target

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Fault:
        return cls(
            id=str(value["id"]),
            kind=str(value["kind"]),
            started_at=float(value["started_at"]),
            expires_at=float(value["expires_at"]),
            target=str(value.get("target", "")),
            percentage=float(value.get("percentage", 100.0)),
            latency_ms=int(value.get("latency_ms", 0)),
            interval_seconds=float(value.get("interval_seconds", 0.0)),
        )


def new_fault(
    kind: str,
    duration_seconds: float,
    *,
    now: float,
    max_seconds: float,
    target: str = "",
    percentage: float = 100.0,
    latency_ms: int | None = None,
    interval_seconds: float | None = None,
) -> Fault:
    """A checked fault starting ``now``; FaultError says which value is wrong and what to use."""
    if kind not in KINDS:
        raise FaultError(f"fault kind {kind!r} is unknown: use one of {', '.join(KINDS)}")
    if not (math.isfinite(duration_seconds) and 0 < duration_seconds <= max_seconds):
        raise FaultError(
            f"duration_seconds {duration_seconds!r} is out of range: every fault ends by itself, "
            f"after more than 0 and at most {max_seconds:g} s (setting fault_max_seconds)"
        )
    if not (math.isfinite(percentage) and 0 < percentage <= 100):
        raise FaultError(f"percentage {percentage!r} must be above 0 and at most 100")
    if len(target) > 64 or not all(c.isalnum() or c in "-_" for c in target):
        raise FaultError("target must be a function's name (letters, digits, - and _), or empty")
    latency = DEFAULT_LATENCY_MS if latency_ms is None else latency_ms
    if kind in LATENCY_KINDS and not 0 < latency <= MAX_LATENCY_MS:
        raise FaultError(f"latency_ms {latency!r} must be above 0 and at most {MAX_LATENCY_MS}")
    interval = DEFAULT_INTERVAL_SECONDS if interval_seconds is None else interval_seconds
    if kind == "workers.kill" and not (math.isfinite(interval) and 0.1 <= interval <= max_seconds):
        raise FaultError(f"interval_seconds {interval!r} must be from 0.1 to {max_seconds:g}")
    return Fault(
        id=uuid.uuid4().hex[:12],
        kind=kind,
        started_at=now,
        expires_at=now + duration_seconds,
        target=target,
        percentage=percentage,
        latency_ms=latency if kind in LATENCY_KINDS else 0,
        interval_seconds=interval if kind == "workers.kill" else 0.0,
    )
