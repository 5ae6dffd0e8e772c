"""The object-event outbox: notifications stored with the object, delivered at least once."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import object_events
from bakusoku.events.s3 import S3Notification


@dataclass(frozen=True)
class PendingEvent:
    id: int
    payload: dict[str, Any]


class ObjectEventOutbox:
    """Appends S3 event notifications and hands out the undelivered ones in order."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def append(self, notification: Mapping[str, Any]) -> None:
        """Store one S3 notification (``{"Records": [...]}``) durably; raises if it cannot."""
        self.append_many([notification])

    def append_many(self, notifications: Sequence[Mapping[str, Any]]) -> None:
        """Store several notifications in one transaction (one round trip); all or none."""
        if not notifications:
            return
        now = time.time()
        rows = []
        for notification in notifications:
            # The store writes one record per notification; a malformed one fails the batch.
            record = S3Notification(notification, where="outbox notification").records[0]
            rows.append(
                {
                    "bucket": record.bucket_name,
                    "object_key": record.raw_key,  # as the notification carries it: URL-encoded
                    "etag": record.etag or "",
                    "sequencer": record.sequencer or "",
                    "payload": dict(notification),
                    "created_at": now,
                }
            )
        with self._engine.begin() as conn:
            conn.execute(object_events.insert(), rows)

    def pending(self, limit: int = 100) -> list[PendingEvent]:
        query = (
            sa.select(object_events.c.id, object_events.c.payload)
            .where(object_events.c.dispatched_at.is_(None))
            .order_by(object_events.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [PendingEvent(row.id, row.payload) for row in conn.execute(query)]

    def mark_dispatched(self, event_ids: list[int]) -> None:
        if not event_ids:
            return
        with self._engine.begin() as conn:
            conn.execute(
                object_events.update()
                .where(object_events.c.id.in_(event_ids))
                .values(dispatched_at=time.time())
            )


@dataclass
class _Waiting:
    notification: Mapping[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommitOutbox:
    """An outbox ``append`` for many concurrent writers: their events share one transaction.

    Each caller still returns only once its event is durable (or raises if it could not be
    written), so no upload is acknowledged without its event. Under a burst of concurrent
    uploads, the events that arrive while one batch is being written go together in the next,
    instead of each upload waiting its turn for the database's write lock.
    """

    def __init__(self, outbox: ObjectEventOutbox, *, max_batch: int = 256) -> None:
        self._outbox = outbox
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._ready = threading.Condition()
        self._writer = threading.Thread(target=self._write_batches, name="outbox", daemon=True)
        self._writer.start()

    def append(self, notification: Mapping[str, Any]) -> None:
        waiting = _Waiting(notification)
        with self._ready:
            self._queue.append(waiting)
            self._ready.notify()
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error

    def _write_batches(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
            try:
                self._outbox.append_many([w.notification for w in batch])
            except BaseException as exc:  # every writer of the batch learns its event is not stored
                for waiting in batch:
                    waiting.error = exc
            for waiting in batch:
                waiting.done.set()
