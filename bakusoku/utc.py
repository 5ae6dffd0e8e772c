"""UTC timestamps written as text: the one place that formats them.

AWS fixes several of these formats byte for byte: S3 event notifications (``eventTime``), Step
Functions and EventBridge (``time``) and SNS (``Timestamp``) write ISO 8601 in UTC with ``Z``, S3
and Step Functions with milliseconds; SigV4 signs ``X-Amz-Date`` in the ISO 8601 basic format. Our
API, logs, alerts and tools write the same ISO 8601 forms. Every formatter takes a moment either as
an aware ``datetime`` (any zone; it is converted to UTC, and a naive one is taken as local time, as
``datetime.astimezone`` does) or as seconds since the epoch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

Moment = datetime | float
"""An instant: an aware ``datetime`` or epoch seconds (``time.time()``)."""

AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_AMZ_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", re.ASCII)
"""``strftime``/``strptime`` pattern of SigV4's ``X-Amz-Date`` (ISO 8601 basic format, UTC)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now() -> datetime:
    """The current instant as an aware UTC ``datetime``."""
    return datetime.now(UTC)


def to_datetime(moment: Moment) -> datetime:
    """``moment`` as an aware UTC ``datetime``."""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC)
    return datetime.fromtimestamp(moment, UTC)


def from_epoch_millis(millis: int) -> datetime:
    """The aware UTC instant of epoch milliseconds, as Step Functions' events carry dates.

    Exact: a float of seconds would turn ``.847`` into ``.846999`` now and then.
    """
    return _EPOCH + timedelta(milliseconds=millis)


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time as AWS and people write it (``Z`` or an offset) as an aware UTC datetime.

    A time without a zone is taken as UTC, as AWS means it; ValueError for anything else.
    """
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_millis(moment: Moment) -> str:
    """``2026-11-23T19:05:07.123Z``: as S3 events and Step Functions write times.

    Milliseconds are truncated, not rounded, as AWS does.
    """
    return to_datetime(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_seconds(moment: Moment) -> str:
    """``2026-11-23T19:05:07Z``: as EventBridge writes an event's ``time``; fractions dropped."""
    return to_datetime(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def amz_date(moment: Moment) -> str:
    """``20261123T190507Z``: SigV4's ``X-Amz-Date`` (ISO 8601 basic format)."""
    return to_datetime(moment).strftime(AMZ_DATE_FORMAT)


def parse_amz_date(value: str) -> datetime:
    """The aware UTC instant of an ``X-Amz-Date``; ValueError unless exactly ``YYYYMMDDTHHMMSSZ``."""
    # A pattern and the constructor, not strptime: read on every signed request, and strptime
    # costs more than the rest of a signature check's parsing.
    match = _AMZ_DATE.fullmatch(value)
    if match is None:
        raise ValueError(f"not an X-Amz-Date (YYYYMMDDTHHMMSSZ): {value!r}")
    year, month, day, hour, minute, second = map(int, match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def readable(moment: Moment) -> str:
    """``2026-11-23 19:05:07Z``: seconds in UTC with a space, for tables people read."""
    return to_datetime(moment).strftime("%Y-%m-%d %H:%M:%SZ")
