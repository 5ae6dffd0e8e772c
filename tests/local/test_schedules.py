"""Schedule expressions in EventBridge's syntax, and a scheduler that fires them on time."""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

import pytest

from bakusoku.events import ScheduledEvent, parse_object_created
from bakusoku.local.schedules import ScheduleExpressionError, Scheduler, parse_schedule

UTC = datetime.UTC
T0 = datetime.datetime(2026, 11, 2, 7, 30, 30, tzinfo=UTC)  # a Monday


def at(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def firings(expression: str, count: int, start: datetime.datetime = T0) -> list[datetime.datetime]:
    schedule = parse_schedule(expression, now=start)
    moment, found = start, []
    for _ in range(count):
        nxt = schedule.next_after(moment)
        assert nxt is not None
        found.append(nxt)
        moment = nxt
    return found


@pytest.mark.parametrize(
    ("expression", "expected"),
    [  # the examples of the EventBridge User Guide, "Schedule expressions"
        ("cron(0 10 * * ? *)", [at(2026, 11, 2, 10, 0), at(2026, 11, 3, 10, 0)]),
        ("cron(15 12 * * ? *)", [at(2026, 11, 2, 12, 15), at(2026, 11, 3, 12, 15)]),
        ("cron(0 18 ? * MON-FRI *)", [at(2026, 11, 2, 18, 0), at(2026, 11, 3, 18, 0)]),
        ("cron(0 8 1 * ? *)", [at(2026, 12, 1, 8, 0), at(2027, 1, 1, 8, 0)]),
        ("cron(0/15 * * * ? *)", [at(2026, 11, 2, 7, 45), at(2026, 11, 2, 8, 0)]),
        ("cron(0/5 8-17 ? * MON-FRI *)", [at(2026, 11, 2, 8, 0), at(2026, 11, 2, 8, 5)]),
        ("cron(0 9 ? * 2#1 *)", [at(2026, 11, 2, 9, 0), at(2026, 12, 7, 9, 0)]),  # 1st Monday
        ("cron(0 3 * * ? *)", [at(2026, 11, 3, 3, 0), at(2026, 11, 4, 3, 0)]),
        ("cron(0 0 L * ? *)", [at(2026, 11, 30, 0, 0), at(2026, 12, 31, 0, 0)]),
        ("cron(0 0 15W * ? *)", [at(2026, 11, 16, 0, 0), at(2026, 12, 15, 0, 0)]),  # 15th: Sun
        ("cron(0 0 ? * 6L *)", [at(2026, 11, 27, 0, 0), at(2026, 12, 25, 0, 0)]),  # last Fri
        ("cron(30 7 * * ? 2027)", [at(2027, 1, 1, 7, 30), at(2027, 1, 2, 7, 30)]),
        ("rate(5 minutes)", [at(2026, 11, 2, 7, 35, 30), at(2026, 11, 2, 7, 40, 30)]),
        ("rate(1 hour)", [at(2026, 11, 2, 8, 30, 30), at(2026, 11, 2, 9, 30, 30)]),
        ("rate(2 days)", [at(2026, 11, 4, 7, 30, 30), at(2026, 11, 6, 7, 30, 30)]),
    ],
)
def test_next_firings(expression: str, expected: list[datetime.datetime]) -> None:
    assert firings(expression, 2) == expected


def test_a_year_that_has_passed_never_fires() -> None:
    assert parse_schedule("cron(0 0 * * ? 2020)").next_after(T0) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("every 5 minutes", "neither rate"),
        ("rate(1 minutes)", r"rate\(1 minute\)"),
        ("rate(5 minute)", r"rate\(5 minutes\)"),
        ("rate(0 minutes)", "positive"),
        ("cron(0 3 * * *)", "six fields"),
        ("cron(0 3 * * * *)", "exactly one of day-of-month"),
        ("cron(0 3 ? * ? *)", "exactly one of day-of-month"),
        ("cron(60 3 * * ? *)", "minutes '60' is outside 0-59"),
        ("cron(0 3 ? * 2#6 *)", "DAY#N"),
        ("cron(x 3 * * ? *)", "not a number"),
    ],
)
def test_expressions_eventbridge_refuses(expression: str, message: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=message):
        parse_schedule(expression)


class FastClock:
    """Virtual time running ``speed`` times faster than the wall clock, from ``start``."""

    def __init__(self, start: datetime.datetime, speed: float) -> None:
        self.start, self.speed, self.t0 = start, speed, time.monotonic()

    def now(self) -> datetime.datetime:
        return self.start + datetime.timedelta(seconds=(time.monotonic() - self.t0) * self.speed)

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds) / self.speed)


def test_scheduler_fires_on_time_with_eventbridge_scheduled_events() -> None:
    clock = FastClock(T0, speed=1200)  # one minute passes in 50 ms
    fired: list[tuple[dict[str, Any], datetime.datetime]] = []
    scheduler = Scheduler(clock=clock)
    scheduler.add("every-two", "cron(0/2 * * * ? *)", lambda e: fired.append((e, clock.now())))
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while len(fired) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scheduler.stop()

    times = [datetime.datetime.fromisoformat(event["time"]) for event, _ in fired[:3]]
    assert times == [at(2026, 11, 2, 7, 32), at(2026, 11, 2, 7, 34), at(2026, 11, 2, 7, 36)]
    for event, seen in fired[:3]:
        assert ScheduledEvent.matches(event)
        assert event["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/every-two"]
        assert parse_object_created(event) == []
        lateness = (seen - datetime.datetime.fromisoformat(event["time"])).total_seconds()
        assert 0 <= lateness < 30  # under 25 ms of real time at this speed


def test_a_failing_target_keeps_its_schedule() -> None:
    clock = FastClock(T0, speed=1200)
    calls: list[str] = []

    def target(event: dict[str, Any]) -> None:
        calls.append(event["time"])
        raise RuntimeError("target failed")

    scheduler = Scheduler(clock=clock)
    scheduler.add("sweep", "rate(1 minute)", target)
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while scheduler.fired("sweep") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scheduler.stop()

    assert calls[:2] == ["2026-11-02T07:31:30Z", "2026-11-02T07:32:30Z"]
