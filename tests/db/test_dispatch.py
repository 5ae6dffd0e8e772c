"""The outboxes' one dispatcher in each database: due rows sent once, failures retried with
back-off until given up, two dispatchers never send the same row, the thread wakes and stops."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.db.dispatch import (
    DELIVERED,
    FAILED,
    PENDING,
    OutboxDispatcher,
    RetryPolicy,
    Undeliverable,
)
from bakusoku.db.engine import create_db_engine
from bakusoku.errors import BakusokuError

pytestmark = pytest.mark.integration


@pytest.fixture
def outbox(db_url: str) -> Iterator[tuple[sa.Engine, sa.Table]]:
    """A table of an outbox's shape, of this test's own."""
    engine = create_db_engine(db_url)
    table = sa.Table(
        f"outbox_{uuid.uuid4().hex[:10]}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Double, nullable=False),
        sa.Column("last_error", sa.String(256), nullable=True),
        sa.Column("delivered_at", sa.Double, nullable=True),
    )
    table.create(engine)
    yield engine, table
    table.drop(engine)
    engine.dispose()


def _add(engine: sa.Engine, table: sa.Table, due: float, kind: str = "message") -> int:
    with engine.begin() as conn:
        inserted = conn.execute(
            table.insert().values(kind=kind, status=PENDING, attempts=0, next_attempt_at=due)
        )
        return int(inserted.inserted_primary_key[0])


def _row(engine: sa.Engine, table: sa.Table, row_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.id == row_id)).one()


class Sink:
    """Keeps the ids it was handed; fails the first ``failures`` sends with ``error``."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.sent: list[int] = []
        self.failures = failures
        self.error = error or BakusokuError("the channel answered HTTP 503")
        self._lock = threading.Lock()

    def __call__(self, row: Any) -> None:
        with self._lock:
            if self.failures:
                self.failures -= 1
                raise self.error
            self.sent.append(row.id)


def test_due_rows_are_sent_once_and_later_rows_wait(outbox: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = outbox
    now = time.time()
    due = [_add(engine, table, now - 1), _add(engine, table, now)]
    later = _add(engine, table, now + 600)
    sink = Sink()
    outcomes: list[tuple[int, bool]] = []
    dispatcher = OutboxDispatcher(
        engine,
        table,
        sink,
        name="test",
        policy=RetryPolicy(),
        on_outcome=lambda row, ok: outcomes.append((row.id, ok)),
    )

    first, again = dispatcher.deliver_due(now), dispatcher.deliver_due(now)

    assert (first, again) == (2, 0)
    assert sink.sent == due and outcomes == [(due[0], True), (due[1], True)]
    assert _row(engine, table, due[0]).status == DELIVERED
    assert _row(engine, table, due[0]).attempts == 1
    assert _row(engine, table, later).status == PENDING
    assert dispatcher.counts() == {DELIVERED: 2, PENDING: 1}
    assert dispatcher.counts(table.c.id == later) == {PENDING: 1}


def test_a_failing_send_is_retried_with_back_off_then_given_up(
    outbox: tuple[sa.Engine, sa.Table], caplog: pytest.LogCaptureFixture
) -> None:
    engine, table = outbox
    row_id = _add(engine, table, time.time())
    sink = Sink(failures=99)
    policy = RetryPolicy(max_attempts=3, max_backoff_seconds=300.0)
    dispatcher = OutboxDispatcher(engine, table, sink, name="test", policy=policy)

    delays = []
    for _ in range(3):
        before = time.time()
        assert dispatcher.deliver_due(time.time() + 3600) == 0
        delays.append(round(_row(engine, table, row_id).next_attempt_at - before))

    stored = _row(engine, table, row_id)
    assert delays == [1, 2, 4]
    assert (stored.status, stored.attempts) == (FAILED, 3)
    assert stored.last_error == "the channel answered HTTP 503"
    assert dispatcher.deliver_due(time.time() + 7200) == 0 and sink.sent == []
    assert "giving up" in caplog.text


def test_a_row_that_recovers_is_delivered(outbox: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = outbox
    row_id = _add(engine, table, time.time())
    sink = Sink(failures=1)
    dispatcher = OutboxDispatcher(engine, table, sink, name="test", policy=RetryPolicy())

    tries = [dispatcher.deliver_due(time.time() + 3600 * n) for n in range(1, 3)]

    assert tries == [0, 1] and sink.sent == [row_id]
    assert (_row(engine, table, row_id).status, _row(engine, table, row_id).attempts) == (
        DELIVERED,
        2,
    )


def test_an_undeliverable_row_fails_at_once(outbox: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = outbox
    row_id = _add(engine, table, time.time())
    sink = Sink(failures=1, error=Undeliverable("the subscription ended"))
    dispatcher = OutboxDispatcher(engine, table, sink, name="test", policy=RetryPolicy())

    dispatcher.deliver_due(time.time() + 1)

    stored = _row(engine, table, row_id)
    assert (stored.status, stored.attempts, stored.last_error) == (
        FAILED,
        1,
        "the subscription ended",
    )


def test_an_untyped_error_is_named_by_its_type_only(
    outbox: tuple[sa.Engine, sa.Table], caplog: pytest.LogCaptureFixture
) -> None:
    engine, table = outbox
    row_id = _add(engine, table, time.time())
    secret_url = "https://hooks.example.com/services/T000/B000/XXXXSECRET"
    sink = Sink(failures=1, error=ValueError(f"cannot reach {secret_url}"))
    dispatcher = OutboxDispatcher(engine, table, sink, name="test", policy=RetryPolicy())

    with caplog.at_level(logging.WARNING):
        dispatcher.deliver_due(time.time() + 1)

    assert _row(engine, table, row_id).last_error == "ValueError"
    assert "SECRET" not in caplog.text and "ValueError" in caplog.text


def test_two_dispatchers_on_one_database_send_each_row_once(
    outbox: tuple[sa.Engine, sa.Table],
) -> None:
    engine, table = outbox
    now = time.time()
    rows = [_add(engine, table, now) for _ in range(40)]
    sink = Sink()
    dispatchers = [
        OutboxDispatcher(engine, table, sink, name=f"test-{n}", policy=RetryPolicy())
        for n in range(2)
    ]
    delivered: list[int] = []
    threads = [
        threading.Thread(target=lambda d=d: delivered.append(d.deliver_due(now + 1)))
        for d in dispatchers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(sink.sent) == rows
    assert sum(delivered) == 40


def test_the_thread_delivers_when_woken_and_stops(outbox: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = outbox
    sink = Sink()
    dispatcher = OutboxDispatcher(
        engine, table, sink, name="test", policy=RetryPolicy(), poll_seconds=30.0
    )
    dispatcher.start()
    try:
        time.sleep(0.2)  # its first poll is 30 s away: only wake() brings it sooner
        row_id = _add(engine, table, time.time())
        dispatcher.wake()
        deadline = time.monotonic() + 5
        while not sink.sent and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        started = time.monotonic()
        dispatcher.stop()
        stopped_in = time.monotonic() - started

    assert sink.sent == [row_id]
    assert stopped_in < 2
    assert not [t for t in threading.enumerate() if t.name == "test-dispatcher"]
