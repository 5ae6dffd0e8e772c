"""The one UTC formatter: the exact text AWS writes, from datetimes in any zone and epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bakusoku import utc

MOMENT = datetime(2026, 11, 23, 19, 5, 7, 123456, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))


def test_iso_millis_is_the_s3_event_time() -> None:
    # The S3 user guide's example record: "eventTime":"1970-01-01T00:00:00.000Z".
    assert utc.iso_millis(0) == "1970-01-01T00:00:00.000Z"
    assert utc.iso_millis(MOMENT) == "2026-11-23T19:05:07.123Z"


def test_iso_millis_truncates_rather_than_rounds() -> None:
    assert utc.iso_millis(MOMENT.replace(microsecond=999_999)) == "2026-11-23T19:05:07.999Z"
    assert utc.iso_millis(1.0005) == "1970-01-01T00:00:01.000Z"


def test_iso_seconds_drops_the_fraction() -> None:
    assert utc.iso_seconds(MOMENT) == "2026-11-23T19:05:07Z"
    assert utc.iso_seconds(59.999) == "1970-01-01T00:00:59Z"


def test_amz_date_is_the_iso_basic_format() -> None:
    # The SigV4 documentation's example: X-Amz-Date=20130524T000000Z.
    assert utc.amz_date(datetime(2013, 5, 24, tzinfo=UTC)) == "20130524T000000Z"


def test_other_zones_are_converted_to_utc() -> None:
    in_tokyo = MOMENT.astimezone(TOKYO)
    assert in_tokyo.hour == 4
    assert utc.iso_millis(in_tokyo) == "2026-11-23T19:05:07.123Z"
    assert utc.amz_date(in_tokyo) == "20261123T190507Z"
    assert utc.readable(in_tokyo) == "2026-11-23 19:05:07Z"


def test_epoch_seconds_and_datetimes_are_the_same_instant() -> None:
    epoch = MOMENT.timestamp()
    assert utc.to_datetime(epoch) == MOMENT
    assert utc.to_datetime(epoch).tzinfo is UTC
    assert utc.iso_seconds(epoch) == utc.iso_seconds(MOMENT)


def test_parse_amz_date_reads_back_what_amz_date_writes() -> None:
    text = utc.amz_date(MOMENT)
    assert utc.parse_amz_date(text) == MOMENT.replace(microsecond=0)


@pytest.mark.parametrize(
    "text",
    [
        "20261123T190507",
        "2026-11-23T19:05:07Z",
        "20261323T190507Z",
        "20261123T190560Z",
        " 2026123T190507Z",
        "+0261123T190507Z",
        "\u0662\u0660\u0662\u06661123T190507Z",  # digits, but not ASCII ones
        "20261123T190507Z\n",
    ],
)
def test_parse_amz_date_refuses_other_shapes(text: str) -> None:
    with pytest.raises(ValueError):
        utc.parse_amz_date(text)


def test_now_is_aware_utc() -> None:
    assert utc.now().tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["2026-11-23T19:05:07.123Z", "2026-11-24T04:05:07.123+09:00", "2026-11-23T19:05:07.123"],
)
def test_parse_iso_reads_z_offsets_and_zoneless_times_as_utc(text: str) -> None:
    parsed = utc.parse_iso(text)
    assert parsed == MOMENT.replace(microsecond=123000)
    assert parsed.tzinfo is UTC


def test_parse_iso_reads_back_what_iso_millis_writes() -> None:
    assert utc.iso_millis(utc.parse_iso(utc.iso_millis(MOMENT))) == utc.iso_millis(MOMENT)


def test_parse_iso_refuses_what_is_not_a_time() -> None:
    with pytest.raises(ValueError):
        utc.parse_iso("yesterday")


def test_from_epoch_millis_is_exact() -> None:
    assert utc.from_epoch_millis(1_700_000_000_847).microsecond == 847_000
    assert utc.from_epoch_millis(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert utc.iso_millis(utc.from_epoch_millis(1_700_000_000_847)).endswith(".847Z")
