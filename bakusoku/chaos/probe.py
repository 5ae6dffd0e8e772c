"""The steady-state probe: photos uploaded through the real doors, each followed to its end.

Each photo is presigned (``POST /v1/uploads``) and PUT to the store with its presigned URL, as the
web app does: a ``503`` or ``429`` (the database or the store unavailable, a rate limit) or a
lost connection is tried again after ``Retry-After`` until ``client_retry_seconds`` have passed.
A photo is *accepted* when the store answered its PUT; the probe then reads it until it is final
(``ready``, ``failed`` or ``duplicate``) or ``final_within_seconds`` after its acceptance.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from bakusoku.chaos.deployment import Deployment

FINAL = ("ready", "failed", "duplicate")
RETRIED_STATUSES = (429, 500, 502, 503, 504)
POLL_SECONDS = 0.2
MAX_RETRY_PAUSE_SECONDS = 1.0


@dataclass
class PhotoOutcome:
    """What happened to one photo of the probe."""

    photo_id: str = ""
    accepted: bool = False
    refusal: str = ""  # why it was never accepted
    status: str = ""  # the last status read
    error_code: str = ""
    seconds_to_accept: float | None = None  # from the first try to the store's answer
    seconds_to_final: float | None = None  # from acceptance; None: never seen final
    in_time: bool = False  # final within the hypothesis' time
    task_errors: list[str] = field(default_factory=list)  # each failed try of a task, by error


@dataclass
class ProbeResult:
    """Every photo of one probe, and what the hypothesis is checked on."""

    outcomes: list[PhotoOutcome] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return len(self.outcomes)

    @property
    def accepted(self) -> int:
        return sum(o.accepted for o in self.outcomes)

    @property
    def late(self) -> int:
        """Accepted photos not final within the hypothesis' time (lost or stuck)."""
        return sum(o.accepted and not o.in_time for o in self.outcomes)

    @property
    def failures(self) -> int:
        """Refused uploads, failed photos and late ones."""
        return sum((not o.accepted) or o.status == "failed" or not o.in_time for o in self.outcomes)

    @property
    def failure_percent(self) -> float:
        return 100.0 * self.failures / self.attempted if self.attempted else 0.0

    def measured(self) -> dict[str, Any]:
        times = sorted(o.seconds_to_final for o in self.outcomes if o.seconds_to_final is not None)
        uploads = sorted(
            o.seconds_to_accept for o in self.outcomes if o.seconds_to_accept is not None
        )
        statuses = Counter(o.status for o in self.outcomes if o.accepted)
        return {
            "attempted": self.attempted,
            "accepted": self.accepted,
            "refused": self.attempted - self.accepted,
            "ready": statuses.get("ready", 0),
            "failed": statuses.get("failed", 0),
            "duplicate": statuses.get("duplicate", 0),
            "late": self.late,
            "failure_percent": round(self.failure_percent, 1),
            "seconds_to_accept": _spread(uploads),
            "seconds_to_final": _spread(times),
            "task_errors": dict(Counter(e for o in self.outcomes for e in o.task_errors)),
            "error_codes": dict(Counter(o.error_code for o in self.outcomes if o.error_code)),
            "refusals": dict(Counter(o.refusal for o in self.outcomes if o.refusal)),
            "photos": [o.photo_id for o in self.outcomes if o.photo_id],
        }


def _spread(ordered: list[float]) -> dict[str, float | None]:
    return {
        "p50": _percentile(ordered, 50),
        "p95": _percentile(ordered, 95),
        "max": round(ordered[-1], 2) if ordered else None,
    }


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * q // 100))
    return round(ordered[int(rank) - 1], 2)


class Probe:
    """Uploads ``photos`` photos into ``album`` and follows each for ``final_within_seconds``."""

    def __init__(
        self,
        deployment: Deployment,
        photo_bytes: Callable[[int], bytes],
        *,
        album: str,
        final_within_seconds: float,
        client_retry_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deployment = deployment
        self._photo_bytes = photo_bytes
        self._album = album
        self._within = final_within_seconds
        self._retry_seconds = client_retry_seconds
        self._clock = clock
        self._counter = 0
        self._lock = threading.Lock()

    def run(self, photos: int, *, spread_seconds: float = 0.0, deadline: float) -> ProbeResult:
        """Upload ``photos`` photos, started evenly over ``spread_seconds``, and follow each one;
        nothing is waited for past ``deadline`` (monotonic)."""
        with self._lock:
            first = self._counter
            self._counter += photos
        started = self._clock()
        gap = spread_seconds / photos if photos else 0.0

        def one(index: int) -> PhotoOutcome:
            pause = started + index * gap - self._clock()
            if pause > 0:
                time.sleep(pause)
            return self._photo(first + index, deadline)

        with ThreadPoolExecutor(max_workers=min(photos, 16)) as pool:
            outcomes = list(pool.map(one, range(photos)))
        return ProbeResult(outcomes)

    def _photo(self, index: int, deadline: float) -> PhotoOutcome:
        outcome = PhotoOutcome()
        data = self._photo_bytes(index)
        first_try = self._clock()
        give_up = min(deadline, self._clock() + self._retry_seconds)
        grant = self._retried(
            lambda: self._deployment.presign(f"chaos-{index}.jpg", len(data), self._album), give_up
        )
        if grant is None or grant.status_code != 201:
            outcome.refusal = _refusal("presign", grant)
            return outcome
        body = grant.json()
        outcome.photo_id = str(body["photo_id"])
        upload = body["upload"]
        stored = self._retried(
            lambda: self._deployment.put(upload["url"], upload["headers"], data), give_up
        )
        # 412: an earlier try of this very PUT stored the bytes and its answer was lost.
        if stored is None or stored.status_code not in (200, 412):
            outcome.refusal = _refusal("put", stored)
            return outcome
        outcome.accepted = True
        accepted_at = self._clock()
        outcome.seconds_to_accept = accepted_at - first_try
        until = min(deadline, accepted_at + self._within)
        while True:
            photo = self._read(outcome.photo_id)
            if photo is not None:
                outcome.status = str(photo.get("status", ""))
                outcome.error_code = str((photo.get("error") or {}).get("code", ""))
                if outcome.status in FINAL:
                    outcome.seconds_to_final = self._clock() - accepted_at
                    outcome.in_time = outcome.seconds_to_final <= self._within
                    outcome.task_errors = self._task_errors(outcome.photo_id)
                    return outcome
            if self._clock() >= until:
                return outcome
            time.sleep(POLL_SECONDS)

    def _task_errors(self, photo_id: str) -> list[str]:
        """The error of each failed try of the photo's tasks (what the faults did, retried)."""
        try:
            answer = self._deployment.execution(photo_id)
        except httpx.HTTPError:
            return []
        if answer.status_code != 200:
            return []
        return [
            str(event["details"].get("error", ""))
            for event in answer.json().get("events", [])
            if str(event.get("type", "")).endswith("Failed")
            and isinstance(event.get("details"), dict)
            and event["type"] != "ExecutionFailed"
        ]

    def _read(self, photo_id: str) -> dict[str, Any] | None:
        try:
            answer = self._deployment.photo(photo_id)
        except httpx.HTTPError:
            return None
        return dict(answer.json()) if answer.status_code == 200 else None

    def _retried(self, call: Callable[[], httpx.Response], give_up: float) -> httpx.Response | None:
        """``call``'s answer, tried again on a retryable status or a lost connection until
        ``give_up``; None when no answer came at all."""
        answer: httpx.Response | None = None
        while True:
            try:
                answer = call()
            except httpx.HTTPError:
                answer = None
            else:
                if answer.status_code not in RETRIED_STATUSES:
                    return answer
            pause = min(_retry_after(answer), MAX_RETRY_PAUSE_SECONDS)
            if self._clock() + pause >= give_up:
                return answer
            time.sleep(pause)


def _retry_after(answer: httpx.Response | None) -> float:
    if answer is None:
        return 0.25
    try:
        return max(0.05, float(answer.headers.get("Retry-After", "0.25")))
    except ValueError:
        return 0.25


def _refusal(step: str, answer: httpx.Response | None) -> str:
    if answer is None:
        return f"{step}: no answer"
    return f"{step}: {answer.status_code}"
