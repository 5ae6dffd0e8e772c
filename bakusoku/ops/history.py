"""Execution history kept in the database: annotations for search, searches, retention."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bakusoku import arns, utc
from bakusoku.db.schema import alert_outbox, photos
from bakusoku.domain.catalogue import failure_code
from bakusoku.domain.keys import PhotoRef, photo_ref
from bakusoku.events import object_created_records
from bakusoku.ops.errors import InvalidQueryError
from bakusoku.ops.timeline import Timeline, build_timeline
from bakusoku.workflow.engine import STATUSES, ExecutionDescription, WorkflowEngine
from bakusoku.workflow.tables import execution_events, executions

log = logging.getLogger("bakusoku.ops.history")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str | None, now: float | None = None) -> float | None:
    """``1h``, ``30m``, ``2d`` (ago), or an ISO-8601 time, as epoch seconds; None stays None."""
    if text is None or text == "":
        return None
    now = time.time() if now is None else now
    match = _DURATION.match(text)
    if match:
        return now - float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    try:
        return utc.parse_iso(text).timestamp()
    except ValueError:
        raise InvalidQueryError(
            f"time {text!r} is neither a duration (30s, 15m, 1h, 2d, 1w) nor an ISO-8601 time"
        ) from None


@dataclass(frozen=True)
class ExecutionQuery:
    """Filters of a history search; every one optional, combined with AND."""

    statuses: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    photo_id: str | None = None
    album: str | None = None
    error_code: str | None = None
    state: str | None = None  # went through this state
    failed_state: str | None = None
    before: float | None = None  # cursor: started strictly before
    limit: int = 50

    @staticmethod
    def statuses_from(text: str | None) -> tuple[str, ...]:
        if not text:
            return ()
        wanted = tuple(s.strip().upper() for s in text.split(",") if s.strip())
        unknown = [s for s in wanted if s not in STATUSES]
        if unknown:
            raise InvalidQueryError(
                f"status {unknown[0]!r} is unknown; use one of {', '.join(STATUSES)}"
            )
        return wanted


def photo_of(execution_input: Any, upload_prefix: str) -> PhotoRef | None:
    """The photo an execution of the pipeline processes, from its object-created input."""
    try:
        record = object_created_records(execution_input)[0]
    except Exception:  # not an object event: another state machine's execution
        return None
    return photo_ref(record.bucket, record.key, upload_prefix)


class ExecutionHistory:
    """Reads and annotates the ``executions`` and ``execution_events`` tables for operations."""

    def __init__(self, db: sa.Engine, workflow: WorkflowEngine, upload_prefix: str) -> None:
        self.db = db
        self.workflow = workflow
        self.upload_prefix = upload_prefix

    # ---- annotation (when an execution ends) ---------------------------------------------------

    def annotate(self, description: ExecutionDescription, timeline: Timeline) -> dict[str, Any]:
        """Record photo, album, error code and failed state on the execution row; returns them."""
        ref = photo_of(description.input, self.upload_prefix)
        failed = timeline.failed_state if description.status != "SUCCEEDED" else None
        values = {
            "photo_id": ref.photo_id if ref else None,
            "album": ref.album if ref else None,
            "error_code": failure_code(description.error),
            "failed_state": failed.name[:80] if failed else None,
        }
        with self.db.begin() as conn:
            conn.execute(
                executions.update().where(executions.c.name == description.name).values(**values)
            )
        return values

    def timeline(self, name: str) -> Timeline:
        return build_timeline(self.workflow.get_execution_history(name))

    # ---- search --------------------------------------------------------------------------------

    def search(self, query: ExecutionQuery) -> list[dict[str, Any]]:
        """Executions matching ``query``, newest first."""
        if not 1 <= query.limit <= 1000:
            raise InvalidQueryError(f"limit {query.limit} must be between 1 and 1000")
        ex = executions.c
        select = sa.select(
            ex.name,
            ex.state_machine,
            ex.status,
            ex.error,
            ex.cause,
            ex.started_at,
            ex.stopped_at,
            ex.redrive_count,
            ex.photo_id,
            ex.album,
            ex.error_code,
            ex.failed_state,
            ex.input,
        ).order_by(ex.started_at.desc())
        if query.statuses:
            select = select.where(ex.status.in_(query.statuses))
        if query.since is not None:
            select = select.where(ex.started_at >= query.since)
        if query.until is not None:
            select = select.where(ex.started_at < query.until)
        if query.before is not None:
            select = select.where(ex.started_at < query.before)
        if query.photo_id:
            by_photo = sa.select(photos.c.execution_name).where(photos.c.photo_id == query.photo_id)
            select = select.where(sa.or_(ex.photo_id == query.photo_id, ex.name.in_(by_photo)))
        if query.album:
            by_album = sa.select(photos.c.execution_name).where(
                photos.c.album == query.album, photos.c.execution_name.is_not(None)
            )
            select = select.where(sa.or_(ex.album == query.album, ex.name.in_(by_album)))
        if query.error_code:
            select = select.where(
                sa.or_(ex.error_code == query.error_code, ex.error == query.error_code)
            )
        if query.failed_state:
            select = select.where(ex.failed_state == query.failed_state)
        if query.state:
            entered = sa.select(execution_events.c.execution_name).where(
                execution_events.c.state_name == query.state,
                execution_events.c.execution_name == ex.name,
            )
            select = select.where(entered.exists())
        with self.db.connect() as conn:
            rows = conn.execute(select.limit(query.limit)).all()
        return [self._summary(row) for row in rows]

    def _summary(self, row: Any) -> dict[str, Any]:
        ref = None
        if row.photo_id is None:
            ref = photo_of(row.input, self.upload_prefix)
        return {
            "name": row.name,
            "state_machine": row.state_machine,
            "status": row.status,
            "photo_id": row.photo_id or (ref.photo_id if ref else None),
            "album": row.album or (ref.album if ref else None),
            "error_code": row.error_code or failure_code(row.error),
            "failed_state": row.failed_state,
            "error": row.error,
            "cause": (row.cause or "")[:500] or None,
            "started_at": row.started_at,
            "stopped_at": row.stopped_at,
            "duration_seconds": None
            if row.stopped_at is None
            else round(row.stopped_at - row.started_at, 3),
            "redrive_count": row.redrive_count or 0,
        }

    def summary(self, name: str) -> dict[str, Any]:
        """One execution's search row; ExecutionDoesNotExistError when there is none."""
        self.workflow.describe_execution(name)  # raises for an unknown name
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(executions).where(executions.c.name == self._bare(name))
            ).one()
        return self._summary(row)

    @staticmethod
    def _bare(name: str) -> str:
        return arns.name_of(name)

    # ---- retention -----------------------------------------------------------------------------

    def prune(self, retention_days: int, *, now: float | None = None, batch: int = 500) -> int:
        """Delete executions (their events, their sent alerts) that ended over ``retention_days`` ago."""
        if retention_days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - retention_days * 86400
        removed = 0
        while True:
            with self.db.begin() as conn:
                names = (
                    conn.execute(
                        sa.select(executions.c.name)
                        .where(executions.c.stopped_at < cutoff, executions.c.status != "RUNNING")
                        .limit(batch)
                    )
                    .scalars()
                    .all()
                )
                if not names:
                    conn.execute(
                        alert_outbox.delete().where(
                            alert_outbox.c.created_at < cutoff, alert_outbox.c.status != "pending"
                        )
                    )
                    return removed
                conn.execute(
                    execution_events.delete().where(execution_events.c.execution_name.in_(names))
                )
                conn.execute(executions.delete().where(executions.c.name.in_(names)))
            removed += len(names)
