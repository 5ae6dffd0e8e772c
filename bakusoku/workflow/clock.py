"""Time formats Step Functions uses: ISO 8601 with milliseconds and Z, from epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_ms(epoch: float) -> str:
    """``2019-03-26T20:14:13.192Z`` for ``epoch`` seconds."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def to_datetime(epoch: float) -> datetime:
    """An aware UTC datetime for ``epoch`` seconds."""
    return datetime.fromtimestamp(epoch, UTC)
