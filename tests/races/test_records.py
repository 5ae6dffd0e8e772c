"""Entry lists and timing results read from CSV and JSON rows: what is taken, what is refused."""

from __future__ import annotations

import pytest

from bakusoku.races.records import (
    Entry,
    RecordsError,
    entries_from,
    format_ms,
    read_csv,
    results_from,
)


def test_a_japanese_spreadsheet_export_is_read_by_its_column_names() -> None:
    text = "\ufeffゼッケン,氏名,姓,種目\r\n1024,山田 太郎,山田,フル男子\r\n7,Jane Doe,Doe,10K\r\n"

    entries, errors = entries_from(read_csv(text))

    assert errors == []
    assert entries == [
        Entry("1024", "山田 太郎", "山田", "フル男子"),
        Entry("7", "Jane Doe", "Doe", "10K"),
    ]


def test_bad_rows_are_reported_by_number_and_the_others_kept() -> None:
    rows = [
        {"bib": "12", "name": "A"},
        {"bib": "12 34", "name": "B"},
        {"bib": "15", "name": ""},
        {"bib": True, "name": "C"},
        {"bib": "16", "name": "D"},
    ]

    entries, errors = entries_from(rows)

    assert [e.bib for e in entries] == ["12", "16"]
    assert [(e.row, e.column) for e in errors] == [(2, "bib"), (3, "name"), (4, "bib")]


def test_a_file_without_a_bib_column_is_refused_whole() -> None:
    with pytest.raises(RecordsError, match="no bib column"):
        read_csv("name,category\nA,10K\n")


@pytest.mark.parametrize(
    ("given", "ms"),
    [
        ("3:12:45", 11_565_000),
        ("3:12:45.3", 11_565_300),
        ("45:07", 2_707_000),
        ("0:59:59,25", 3_599_250),
        (3600, 3_600_000),
        (12.5, 12_500),
    ],
)
def test_race_times_are_read_as_timing_systems_print_them(given: object, ms: int) -> None:
    results, errors = results_from([{"bib": "1", "net_time": given}])

    assert errors == []
    assert results[0].net_ms == ms


@pytest.mark.parametrize("given", ["3h12m", "12:60:00", True, -5, "1:2:3:4"])
def test_a_time_that_is_not_one_is_refused(given: object) -> None:
    results, errors = results_from([{"bib": "1", "net_time": given}])

    assert results == []
    assert errors[0].column == "net_time"


def test_a_result_is_keyed_by_bib_and_checkpoint_and_the_last_row_wins() -> None:
    rows = [
        {"bib": "1", "net_time": "3:00:00"},
        {"bib": "1", "checkpoint": "10K", "net_time": "0:45:00"},
        {"bib": "1", "net_time": "2:59:58"},
    ]

    results, _ = results_from(rows)

    assert {(r.bib, r.checkpoint, r.net_ms) for r in results} == {
        ("1", "finish", 10_798_000),
        ("1", "10k", 2_700_000),
    }


def test_a_finish_clock_time_needs_its_utc_offset() -> None:
    ok, _ = results_from([{"bib": "1", "gun_time": "3:00:00", "finish_at": "2026-12-06T12:00:00Z"}])
    _, refused = results_from([{"bib": "1", "gun_time": "3:00:00", "finish_at": "12:00:00"}])

    assert ok[0].finish_at == "2026-12-06T12:00:00+00:00"
    assert refused[0].column == "finish_at"


def test_times_are_written_back_as_runners_read_them() -> None:
    assert format_ms(11_565_000) == "3:12:45"
    assert format_ms(11_565_300) == "3:12:45.3"
    assert format_ms(None) is None
