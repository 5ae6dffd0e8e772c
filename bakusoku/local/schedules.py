"""The local scheduler: fires EventBridge schedules (``bakusoku.events.schedules``) on time."""

from __future__ import annotations

import datetime
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bakusoku import arns, utc
from bakusoku.events.schedules import (
    UTC,
    CronSchedule,
    RateSchedule,
    Schedule,
    ScheduleExpressionError,
    parse_schedule,
)

__all__ = [
    "CronSchedule",
    "RateSchedule",
    "Schedule",
    "ScheduleExpressionError",
    "Scheduler",
    "parse_schedule",
]

log = logging.getLogger("bakusoku.schedules")

# -- the scheduler ------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime.datetime: ...

    def wait(self, stop: threading.Event, seconds: float) -> bool: ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(UTC)

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))


@dataclass
class _Entry:
    name: str
    schedule: Schedule
    target: Callable[[dict[str, Any]], object]
    due: datetime.datetime | None
    fired: int = 0


class Scheduler:
    """Fires each schedule's target with EventBridge's "Scheduled Event", on time, in one thread.

    A target that raises is logged and fires again at its next time; a schedule whose firing was
    missed (the process was asleep) fires once, late, then keeps its rhythm.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account: str = "000000000000",
        clock: Clock | None = None,
    ) -> None:
        self.region = region
        self.account = account
        self.clock = clock or SystemClock()
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._thread: threading.Thread | None = None

    def add(
        self, name: str, expression: str, target: Callable[[dict[str, Any]], object]
    ) -> Schedule:
        schedule = parse_schedule(expression, now=self.clock.now())
        with self._lock:
            self._entries[name] = _Entry(
                name, schedule, target, schedule.next_after(self.clock.now())
            )
        self._changed.set()
        return schedule

    def fired(self, name: str) -> int:
        with self._lock:
            return self._entries[name].fired

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._changed.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def scheduled_event(self, name: str, moment: datetime.datetime) -> dict[str, Any]:
        """The event EventBridge sends a schedule rule's target."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account,
            "time": utc.iso_seconds(moment),
            "region": self.region,
            "resources": [arns.arn("events", self.region, self.account, f"rule/{name}")],
            "detail": {},
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self.clock.now()
            due: list[_Entry] = []
            with self._lock:
                pending = [e for e in self._entries.values() if e.due is not None]
                due = [e for e in pending if e.due is not None and e.due <= now]
                upcoming = min((e.due for e in pending if e.due and e.due > now), default=None)
            for entry in due:
                self._fire(entry, now)
            if due:
                continue
            self._changed.clear()
            seconds = 60.0 if upcoming is None else (upcoming - now).total_seconds()
            self.clock.wait(self._changed, seconds)

    def _fire(self, entry: _Entry, now: datetime.datetime) -> None:
        assert entry.due is not None
        event = self.scheduled_event(entry.name, entry.due)
        started = time.monotonic()
        try:
            entry.target(event)
        except Exception:
            log.exception("schedule %s (%s) failed", entry.name, entry.schedule.expression)
        log.debug("schedule %s fired in %.1f ms", entry.name, (time.monotonic() - started) * 1e3)
        with self._lock:
            entry.fired += 1
            entry.due = entry.schedule.next_after(max(now, entry.due))
