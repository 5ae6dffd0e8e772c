"""The object-event outbox on SQLite, MariaDB and PostgreSQL: batched appends, group commit."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.db.outbox import GroupCommitOutbox, ObjectEventOutbox
from bakusoku.db.schema import object_events
from bakusoku.events.errors import MalformedEventError
from bakusoku.storage.notifications import object_created_event


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url, pool_size=4)
    yield engine
    engine.dispose()


def _event(key: str) -> dict[str, object]:
    return object_created_event(
        bucket="photos",
        key=key,
        size=1,
        etag="0" * 32,
        sequencer="0A",
        region="us-east-1",
        event_time=datetime.now(UTC),
    )


def _stored_keys(engine: sa.Engine, prefix: str) -> list[str]:
    with engine.connect() as conn:
        query = sa.select(object_events.c.object_key).where(
            object_events.c.object_key.like(f"{prefix}%")
        )
        return [row.object_key for row in conn.execute(query)]


def test_append_many_stores_every_event_in_order(engine: sa.Engine) -> None:
    outbox = ObjectEventOutbox(engine)
    prefix = f"uploads/{uuid.uuid4().hex}/"
    keys = [f"{prefix}{i:03d}.jpg" for i in range(40)]
    outbox.append_many([_event(k) for k in keys])
    assert _stored_keys(engine, prefix) == keys
    pending = [e for e in outbox.pending(limit=10_000) if prefix in str(e.payload)]
    assert [e.payload["Records"][0]["s3"]["object"]["key"] for e in pending] == keys
    outbox.mark_dispatched([e.id for e in pending])


def test_a_malformed_notification_stores_nothing_of_its_batch(engine: sa.Engine) -> None:
    outbox = ObjectEventOutbox(engine)
    prefix = f"uploads/{uuid.uuid4().hex}/"
    broken = _event(f"{prefix}broken.jpg")
    del broken["Records"][0]["s3"]["bucket"]  # type: ignore[index]
    with pytest.raises(MalformedEventError, match=r"\.Records\[0\]\.s3\.bucket is missing"):
        outbox.append_many([_event(f"{prefix}ok.jpg"), broken])
    assert _stored_keys(engine, prefix) == []


def test_concurrent_appends_return_only_once_their_event_is_stored(engine: sa.Engine) -> None:
    outbox = GroupCommitOutbox(ObjectEventOutbox(engine))
    prefix = f"uploads/{uuid.uuid4().hex}/"
    start = threading.Barrier(32)

    def upload(index: int) -> bool:
        key = f"{prefix}{index:03d}.jpg"
        start.wait()
        outbox.append(_event(key))
        return key in _stored_keys(engine, prefix)  # durable by the time append returns

    with ThreadPoolExecutor(32) as pool:
        visible = list(pool.map(upload, range(32)))
    assert all(visible)
    assert sorted(_stored_keys(engine, prefix)) == [f"{prefix}{i:03d}.jpg" for i in range(32)]


def test_a_failed_batch_fails_every_writer_in_it(tmp_path: object) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/empty.db")  # no schema: every write fails
    outbox = GroupCommitOutbox(ObjectEventOutbox(engine))
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(outbox.append, _event(f"uploads/a/{i}.jpg")) for i in range(8)]
        errors = [f.exception(timeout=30) for f in futures]
    assert all(isinstance(e, sa.exc.OperationalError) for e in errors), errors
    engine.dispose()
