"""EventBridge schedule expressions: ``rate(...)`` and ``cron(...)``, read as EventBridge reads them.

The local scheduler (``bakusoku.local.schedules``) fires them; the configuration's functions are
checked with the same reader, so an expression ``bakusoku up`` accepts is one EventBridge accepts.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bakusoku.errors import BakusokuError

UTC = datetime.UTC
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS = {k.upper(): v for k, v in _MONTHS.items()}
# EventBridge counts days of the week from Sunday = 1.
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_SEARCH_YEARS = 5


class ScheduleExpressionError(BakusokuError):
    """The schedule expression is not one EventBridge accepts; the message says which part."""

    code = "schedule.invalid_expression"


class Schedule(Protocol):
    @property
    def expression(self) -> str: ...

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None: ...


@dataclass(frozen=True)
class RateSchedule:
    """``rate(5 minutes)``: every period, counted from when the schedule was created."""

    expression: str
    period: datetime.timedelta
    start: datetime.datetime

    def next_after(self, moment: datetime.datetime) -> datetime.datetime:
        if moment < self.start:
            return self.start + self.period
        periods = (moment - self.start) // self.period + 1
        return self.start + periods * self.period


@dataclass(frozen=True)
class CronSchedule:
    """``cron(minutes hours day-of-month month day-of-week year)``, in UTC, as EventBridge reads it."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_matches: Callable[[datetime.date], bool]

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The first firing time strictly after ``moment`` (None if none within five years)."""
        moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
        day = moment.date()
        for _ in range(366 * _SEARCH_YEARS):
            if day.year in self.years and day.month in self.months and self.day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime.datetime(
                            day.year, day.month, day.day, hour, minute, tzinfo=UTC
                        )
                        if candidate > moment:
                            return candidate
            day += datetime.timedelta(days=1)
        return None


def parse_schedule(expression: str, *, now: datetime.datetime | None = None) -> Schedule:
    """Read an EventBridge schedule expression: ``rate(value unit)`` or a six-field ``cron(...)``."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        return _rate(text, int(rate.group(1)), rate.group(2), now or datetime.datetime.now(UTC))
    cron = _CRON.match(text)
    if cron:
        return _cron(text, cron.group(1).split())
    raise ScheduleExpressionError(
        f"schedule {expression!r} is neither rate(value unit) nor cron(fields); for example "
        "'rate(5 minutes)' or 'cron(0 3 * * ? *)'"
    )


def _rate(text: str, value: int, unit: str, now: datetime.datetime) -> RateSchedule:
    if value < 1:
        raise ScheduleExpressionError(f"{text}: the value must be a positive whole number")
    singular = unit.rstrip("s")
    if (value == 1) != (unit == singular):
        right = f"rate(1 {singular})" if value == 1 else f"rate({value} {singular}s)"
        raise ScheduleExpressionError(
            f"{text}: EventBridge wants the singular unit for 1 and the plural otherwise: {right}"
        )
    period = datetime.timedelta(**{f"{singular}s": value})
    return RateSchedule(text, period, now.astimezone(UTC))


def _cron(text: str, fields: list[str]) -> CronSchedule:
    if len(fields) != 6:
        raise ScheduleExpressionError(
            f"{text}: EventBridge cron has six fields (minutes hours day-of-month month "
            f"day-of-week year), got {len(fields)}; for example cron(0 3 * * ? *)"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleExpressionError(
            f"{text}: exactly one of day-of-month ({dom!r}) and day-of-week ({dow!r}) must be "
            "'?'; write cron(0 3 * * ? *) for every day"
        )
    return CronSchedule(
        text,
        minutes=_values(text, "minutes", minute, 0, 59),
        hours=_values(text, "hours", hour, 0, 23),
        months=_values(text, "month", month, 1, 12, _MONTHS),
        years=_values(text, "year", year, 1970, 2199),
        day_matches=_day_of_month(text, dom) if dow == "?" else _day_of_week(text, dow),
    )


def _number(text: str, field: str, token: str, names: dict[str, int] | None) -> int:
    if names and token.upper() in names:
        return names[token.upper()]
    if not token.isdigit():
        raise ScheduleExpressionError(f"{text}: {field} value {token!r} is not a number")
    return int(token)


def _values(
    text: str, field: str, spec: str, low: int, high: int, names: dict[str, int] | None = None
) -> frozenset[int]:
    """A field of plain values: ``*``, ``5``, ``1-5``, ``MON-FRI``, ``0/15``, ``1,3,5``."""
    found: set[int] = set()
    for part in spec.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ScheduleExpressionError(f"{text}: {field} step {step_text!r} must be 1 or more")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(text, field, first, names), _number(text, field, last, names)
        else:
            start = _number(text, field, base, names)
            end = high if step else start
        if not (low <= start <= high and low <= end <= high):
            raise ScheduleExpressionError(f"{text}: {field} {part!r} is outside {low}-{high}")
        if start <= end:
            found.update(range(start, end + 1, step or 1))
        else:  # a range that wraps, as EventBridge allows (e.g. FRI-MON)
            found.update([*range(start, high + 1), *range(low, end + 1)][:: step or 1])
    return frozenset(found)


def _day_of_month(text: str, spec: str) -> Callable[[datetime.date], bool]:
    if spec == "L":
        return lambda day: day.day == calendar.monthrange(day.year, day.month)[1]
    if spec.endswith("W") and spec[:-1].isdigit():
        target = int(spec[:-1])
        if not 1 <= target <= 31:
            raise ScheduleExpressionError(f"{text}: day-of-month {spec!r} is outside 1-31")
        return lambda day: day == _nearest_weekday(day.year, day.month, target)
    days = _values(text, "day-of-month", spec, 1, 31)
    return lambda day: day.day in days


def _nearest_weekday(year: int, month: int, target: int) -> datetime.date | None:
    last = calendar.monthrange(year, month)[1]
    if target > last:
        return None
    day = datetime.date(year, month, target)
    if day.weekday() == 5:  # Saturday: the Friday before, unless that leaves the month
        return day - datetime.timedelta(days=1) if target > 1 else day + datetime.timedelta(days=2)
    if day.weekday() == 6:  # Sunday: the Monday after, unless that leaves the month
        return day + datetime.timedelta(days=1) if target < last else day - datetime.timedelta(2)
    return day


def _weekday(day: datetime.date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday=0 in Python; Sunday=1 in EventBridge


def _day_of_week(text: str, spec: str) -> Callable[[datetime.date], bool]:
    if "#" in spec:
        name, _, nth_text = spec.partition("#")
        weekday = _number(text, "day-of-week", name, _DAYS)
        if not (1 <= weekday <= 7 and nth_text.isdigit() and 1 <= int(nth_text) <= 5):
            raise ScheduleExpressionError(
                f"{text}: day-of-week {spec!r} must be DAY#N with N 1-5 (3#2: second Tuesday)"
            )
        nth = int(nth_text)
        return lambda day: _weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    if spec.endswith("L") and len(spec) > 1:
        weekday = _number(text, "day-of-week", spec[:-1], _DAYS)
        return lambda day: (
            _weekday(day) == weekday and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        )
    if spec == "L":
        return lambda day: _weekday(day) == 7
    days = _values(text, "day-of-week", spec, 1, 7, _DAYS)
    return lambda day: _weekday(day) in days
