"""The object-event outbox: notifications stored with the object, delivered at least once."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import object_events


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
        record = notification["Records"][0]
        obj = record["s3"]["object"]
        with self._engine.begin() as conn:
            conn.execute(
                object_events.insert().values(
                    bucket=record["s3"]["bucket"]["name"],
                    object_key=obj["key"],
                    etag=obj.get("eTag", ""),
                    sequencer=obj.get("sequencer", ""),
                    payload=dict(notification),
                    created_at=time.time(),
                )
            )

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
