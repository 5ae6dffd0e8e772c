"""``changes_page``: the polled pages of photo changes, read from rows in memory (no I/O)."""

from __future__ import annotations

from typing import Any

from bakusoku.api.feed import LOOKBACK_SECONDS, MAX_ROWS_PER_POLL, FeedScope, Row, changes_page

NOW = 1_000_000.0
EVERYTHING = FeedScope(service=None, albums=None, album=None)  # what the admin token watches


def table(*stamps: float) -> list[Row]:
    return [{"photo_id": f"p{i}", "updated_at": at} for i, at in enumerate(stamps)]


def fetcher(rows: list[Row]) -> Any:
    """``changed_photos``' contract: rows changed after ``since``, oldest first, one page."""

    def fetch(scope: FeedScope, since: float) -> list[Row]:
        newer = sorted((r for r in rows if r["updated_at"] > since), key=lambda r: r["updated_at"])
        return newer[:MAX_ROWS_PER_POLL]

    return fetch


def test_answers_only_settled_changes_and_moves_the_cursor_to_the_settled_time() -> None:
    settled = NOW - LOOKBACK_SECONDS
    rows = table(settled - 10, settled - 1, settled + 0.5)
    page = changes_page(fetcher(rows), EVERYTHING, settled - 5, NOW)
    assert [r["photo_id"] for r in page.rows] == ["p1"]
    assert page.cursor == settled and page.more is False


def test_a_change_stamped_late_is_still_delivered_and_nothing_twice() -> None:
    rows = table(NOW - 1)  # committed just now, stamped a second ago
    first = changes_page(fetcher(rows), EVERYTHING, NOW - 10, NOW)
    assert first.rows == []
    rows.append({"photo_id": "late", "updated_at": NOW - 1.5})
    later = NOW + LOOKBACK_SECONDS
    second = changes_page(fetcher(rows), EVERYTHING, first.cursor, later)
    assert sorted(r["photo_id"] for r in second.rows) == ["late", "p0"]
    third = changes_page(fetcher(rows), EVERYTHING, second.cursor, later + 5)
    assert third.rows == []


def test_a_cursor_at_or_past_the_settled_time_answers_nothing_and_stays() -> None:
    page = changes_page(fetcher(table(NOW - 1)), EVERYTHING, NOW - 1, NOW)
    assert page.rows == [] and page.cursor == NOW - 1 and not page.more


def test_a_full_page_leaves_the_rows_tied_with_its_last_for_the_next() -> None:
    old = NOW - 100
    stamps = [old + i * 0.001 for i in range(MAX_ROWS_PER_POLL - 1)] + [old + 1.0] * 3
    rows = table(*stamps)
    first = changes_page(fetcher(rows), EVERYTHING, 0.0, NOW)
    assert len(first.rows) == MAX_ROWS_PER_POLL - 1 and first.more
    second = changes_page(fetcher(rows), EVERYTHING, first.cursor, NOW)
    assert [r["updated_at"] for r in second.rows] == [old + 1.0] * 3 and not second.more
    assert {r["photo_id"] for r in first.rows + second.rows} == {r["photo_id"] for r in rows}
