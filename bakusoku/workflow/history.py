"""Execution history: events as Step Functions reports them, and their buffered, durable writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bakusoku.utc import to_datetime
from bakusoku.workflow.frames import Checkpoint
from bakusoku.workflow.tables import execution_events, executions
from bakusoku.workflow.writer import GroupWriter, HistoryWrite

# The field of a GetExecutionHistory event that holds each event type's details.
_DETAILS_KEYS: dict[str, str] = {
    "ExecutionStarted": "executionStartedEventDetails",
    "ExecutionSucceeded": "executionSucceededEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionAborted": "executionAbortedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "ExecutionRedriven": "executionRedrivenEventDetails",
    "TaskScheduled": "taskScheduledEventDetails",
    "TaskStarted": "taskStartedEventDetails",
    "TaskSucceeded": "taskSucceededEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskSubmitted": "taskSubmittedEventDetails",
    "LambdaFunctionScheduled": "lambdaFunctionScheduledEventDetails",
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "MapStateStarted": "mapStateStartedEventDetails",
    "MapIterationStarted": "mapIterationStartedEventDetails",
    "MapIterationSucceeded": "mapIterationSucceededEventDetails",
    "MapIterationFailed": "mapIterationFailedEventDetails",
    "MapIterationAborted": "mapIterationAbortedEventDetails",
    "EvaluationFailed": "evaluationFailedEventDetails",
}


def details_key(event_type: str) -> str | None:
    """The GetExecutionHistory field name for ``event_type``'s details, if it has any."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return _DETAILS_KEYS.get(event_type)


@dataclass(frozen=True)
class HistoryEvent:
    """One history event: ``details`` is what Step Functions puts under ``details_key``."""

    id: int
    previous_event_id: int
    type: str
    timestamp: datetime
    details: dict[str, Any] | None
    state_name: str | None = None

    @property
    def details_key(self) -> str | None:
        return details_key(self.type)

    def to_aws(self) -> dict[str, Any]:
        """The event as GetExecutionHistory returns it (timestamp as epoch seconds)."""
        event: dict[str, Any] = {
            "id": self.id,
            "previousEventId": self.previous_event_id,
            "timestamp": self.timestamp.timestamp(),
            "type": self.type,
        }
        key = self.details_key
        if key is not None and self.details is not None:
            event[key] = self.details
        return event


def event_from_row(row: Any) -> HistoryEvent:
    return HistoryEvent(
        id=row.event_id,
        previous_event_id=row.previous_event_id or 0,
        type=row.type,
        timestamp=to_datetime(row.timestamp),
        details=row.details,
        state_name=row.state_name,
    )


def last_event_id(conn: sa.Connection, name: str) -> int:
    """The id of the execution's newest history event (0 when it has none)."""
    last = conn.execute(
        sa.select(sa.func.max(execution_events.c.event_id)).where(
            execution_events.c.execution_name == name
        )
    ).scalar()
    return int(last or 0)


def append_event(
    conn: sa.Connection, name: str, event_type: str, timestamp: float, details: dict[str, Any]
) -> None:
    """Add an execution-level event after the newest one, written by whoever changed its status
    in the same transaction (not by the engine running it, which may be elsewhere or gone)."""
    last_id = last_event_id(conn, name)
    conn.execute(
        execution_events.insert().values(
            execution_name=name,
            event_id=last_id + 1,
            previous_event_id=last_id,
            type=event_type,
            timestamp=timestamp,
            state_name=None,
            details=details,
        )
    )


def move_execution(
    conn: sa.Connection,
    name: str,
    from_status: str,
    event_type: str,
    details: dict[str, Any],
    at: float,
    **values: Any,
) -> bool:
    """Change execution ``name`` from ``from_status`` by ``values``, unclaimed; add its event ``at``.

    For a status change made by whoever is asked (StopExecution, RedriveExecution), not by the
    engine running it: the guard on ``from_status`` makes a race with that engine's own end lose
    cleanly. Returns False, writing nothing, when the execution had already left ``from_status``.
    """
    moved = conn.execute(
        executions.update()
        .where(executions.c.name == name, executions.c.status == from_status)
        .values(owner=None, lease_until=None, **values)
    ).rowcount
    if moved != 1:
        return False
    append_event(conn, name, event_type, at, details)
    return True


class OwnershipLostError(Exception):
    """The execution is no longer RUNNING under this engine (aborted or taken over elsewhere)."""


class ExecutionRecorder:
    """Buffers one execution's events and writes them in batches, with its checkpoint.

    Events are written, with the checkpoint of the top-level state the execution is in, before
    anything that waits or calls out (a task, a Wait state, a retry interval), when a branch or
    iteration of a top-level Parallel or Map succeeds, when many are pending, and when the
    execution ends. Every write renews this engine's lease on the execution and
    happens only while the execution is still RUNNING under this engine (``owner``); otherwise
    it is rolled back and ``on_lost`` is called. Once the execution is interrupted by an engine
    stop nothing more is written, so a resumed run continues from the last checkpoint.
    """

    FLUSH_AT = 64

    def __init__(
        self,
        db: sa.Engine,
        execution_name: str,
        last_event_id: int,
        *,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        on_lost: Callable[[], None] | None = None,
        writer: GroupWriter | None = None,
    ) -> None:
        self.db = db
        self.writer = writer or GroupWriter(db)
        self.name = execution_name
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.on_lost = on_lost
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._next_id = last_event_id + 1
        self._pending: list[dict[str, Any]] = []
        self._checkpoint: dict[str, Any] | None = None  # to write with the next flush
        self._current: dict[str, Any] | None = None  # the checkpoint of the state running now
        self._closed = False
        self.lost = False

    @property
    def last_event_id(self) -> int:
        with self._lock:
            return self._next_id - 1

    def emit(
        self,
        event_type: str,
        details: dict[str, Any] | None,
        *,
        previous: int,
        state_name: str | None = None,
    ) -> int:
        with self._lock:
            event_id = self._next_id
            self._next_id += 1
            self._pending.append(
                {
                    "execution_name": self.name,
                    "event_id": event_id,
                    "previous_event_id": previous,
                    "type": event_type,
                    "timestamp": time.time(),
                    "state_name": state_name,
                    "details": details,
                }
            )
            many = len(self._pending) >= self.FLUSH_AT
        if many:
            self.flush()
        return event_id

    def checkpoint(self, point: Checkpoint) -> None:
        with self._lock:
            self._current = {
                "state": point.state_name,
                "input": point.state_input,
                "variables": dict(point.variables),
                "entered": point.entered if point.entered is not None else time.time(),
                "children": {str(k): v for k, v in (point.done_children or {}).items()},
            }
            self._checkpoint = self._current
        # Written with the next flush, which comes before anything that waits or calls out (a
        # task, a Wait, a retry interval): states that only move data (Pass, Choice) add no
        # write of their own, and a crash among them resumes at the last written checkpoint.

    def child_done(self, index: int, output: Any) -> None:
        """A branch of the current top-level state succeeded: keep its output with the checkpoint.

        Written at once, with the branch's events, so a resumed or redriven state need not run
        it again.
        """
        with self._lock:
            if self._current is None:
                return
            self._current["children"][str(index)] = output
            self._checkpoint = self._current
        self.flush()

    def flush(self, execution_update: dict[str, Any] | None = None) -> bool:
        """Write pending events, the checkpoint and ``execution_update`` in one transaction.

        Returns False when nothing could be written because the execution is no longer this
        engine's to write (it was aborted, or another engine took it over).
        """
        with self._write_lock:
            with self._lock:
                if self._closed:
                    return not self.lost
                write = self._take(execution_update)
            if write is None:
                return True
            # Guarded by the owner: never written once the execution was aborted or taken over.
            if not self.writer.write(write):
                self._lose()
                return False
            return True

    def _take(self, execution_update: dict[str, Any] | None) -> HistoryWrite | None:
        """What is pending, as one write (None when nothing is); called holding ``_lock``."""
        rows, self._pending = self._pending, []
        checkpoint, self._checkpoint = self._checkpoint, None
        update = dict(execution_update or {})
        if checkpoint is not None:
            update["checkpoint"] = {**checkpoint, "children": dict(checkpoint["children"])}
        if not rows and not update:
            return None
        update["lease_until"] = time.time() + self.lease_seconds
        return HistoryWrite(self.name, self.owner, update, rows)

    def _lose(self) -> None:
        with self._lock:
            self._closed = True
            self.lost = True
        if self.on_lost is not None:
            self.on_lost()

    def close(self, execution_update: dict[str, Any] | None = None) -> bool:
        """Final write; afterwards nothing is written. False when the execution was lost."""
        written = self.flush(execution_update)
        with self._lock:
            self._closed = True
        return written

    def close_later(
        self,
        execution_update: dict[str, Any],
        then: Callable[[bool, BaseException | None], None],
    ) -> None:
        """``close`` without waiting: ``then(written, error)`` once the write is committed.

        ``written`` is False when the execution was lost; ``error`` is what the write raised.
        """
        with self._write_lock:
            with self._lock:
                closed, lost = self._closed, self.lost
                write = None if closed else self._take(execution_update)
                self._closed = True
            if write is None:
                then(not lost, None)
                return

            def written(result: Any, error: BaseException | None) -> None:
                if error is None and not result:
                    self._lose()
                then(error is None and bool(result), error)

            self.writer.write_later(write, written)

    def discard(self) -> None:
        """Drop what is pending and write nothing more (the engine is stopping)."""
        with self._write_lock, self._lock:
            self._pending = []
            self._checkpoint = None
            self._closed = True

    def pending_events(self) -> list[HistoryEvent]:
        with self._lock:
            return [
                HistoryEvent(
                    id=row["event_id"],
                    previous_event_id=row["previous_event_id"],
                    type=row["type"],
                    timestamp=to_datetime(row["timestamp"]),
                    details=row["details"],
                    state_name=row["state_name"],
                )
                for row in self._pending
            ]
