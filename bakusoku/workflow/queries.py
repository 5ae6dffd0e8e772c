"""The engine's queries: DescribeExecution, GetExecutionHistory, ListExecutions, and waiting.

Reads the ``executions`` and ``execution_events`` tables; the history of an execution running
here includes the events it has buffered but not written yet. Also the read StartExecution makes
when the name is taken (an idempotent start returns the execution already running).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from bakusoku import arns
from bakusoku.utc import to_datetime
from bakusoku.workflow.engine_base import EngineBase
from bakusoku.workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionDoesNotExistError,
    ValidationError,
)
from bakusoku.workflow.history import HistoryEvent, event_from_row
from bakusoku.workflow.model import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    RUNNING,
    STATUSES,
    ExecutionDescription,
    ExecutionPage,
    ExecutionRef,
    StateMachine,
    WaitTimeoutError,
)
from bakusoku.workflow.pages import Cursor, decode_token, encode_token
from bakusoku.workflow.tables import execution_events, executions


class ExecutionQueries(EngineBase):
    """Describe, list and wait for executions; read their history."""

    def _describe_row(self, row: Any) -> ExecutionDescription:
        return ExecutionDescription(
            name=row.name,
            execution_arn=self.execution_arn(row.state_machine, row.name),
            state_machine_arn=self.state_machine_arn(row.state_machine),
            state_machine_name=row.state_machine,
            status=row.status,
            input=row.input,
            output=row.output,
            error=row.error,
            cause=row.cause,
            start_date=to_datetime(row.started_at),
            stop_date=to_datetime(row.stopped_at) if row.stopped_at is not None else None,
            redrive_count=row.redrive_count or 0,
        )

    def describe_execution(self, name: str) -> ExecutionDescription:
        """DescribeExecution; ExecutionDoesNotExistError when there is no such execution."""
        name = arns.name_of(name)
        with self.db.connect() as conn:
            row = conn.execute(sa.select(executions).where(executions.c.name == name)).one_or_none()
        if row is None:
            raise ExecutionDoesNotExistError(f"execution {name!r} does not exist")
        return self._describe_row(row)

    def get_execution_history(self, name: str) -> list[HistoryEvent]:
        """GetExecutionHistory: every event so far, oldest first (pending ones included)."""
        name = arns.name_of(name)
        with self._lock:
            entry = self._live.get(name)
        pending = entry.recorder.pending_events() if entry is not None and entry.recorder else []
        with self.db.connect() as conn:
            exists = conn.execute(
                sa.select(executions.c.name).where(executions.c.name == name)
            ).one_or_none()
            if exists is None:
                raise ExecutionDoesNotExistError(f"execution {name!r} does not exist")
            rows = conn.execute(
                sa.select(execution_events)
                .where(execution_events.c.execution_name == name)
                .order_by(execution_events.c.event_id)
            ).all()
        events = [event_from_row(row) for row in rows]
        stored = {event.id for event in events}
        events.extend(event for event in pending if event.id not in stored)
        return events

    def list_executions(
        self,
        state_machine: str | None = None,
        *,
        status_filter: str | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> ExecutionPage:
        """ListExecutions: one page, newest first, of a state machine's executions (or all).

        ``state_machine`` is a name or ARN; ``status_filter`` one of the statuses;
        ``max_results`` 1-1000 (0 means the default, 100). When more executions match, the page's
        ``next_token`` fetches the next page (ValidationError for a bad size, InvalidToken
        for a token that is malformed, older than 24 hours, or issued for other filters).
        """
        if status_filter is not None and status_filter not in STATUSES:
            raise ValidationError(
                f"statusFilter {status_filter!r} is unknown; use one of {', '.join(STATUSES)}"
            )
        if isinstance(max_results, bool) or not isinstance(max_results, int):
            raise ValidationError(f"maxResults must be an integer, got {max_results!r}")
        if not 0 <= max_results <= MAX_PAGE_SIZE:
            raise ValidationError(
                f"maxResults {max_results} is out of range; use 1-{MAX_PAGE_SIZE} "
                f"(0 for the default, {DEFAULT_PAGE_SIZE})"
            )
        size = max_results or DEFAULT_PAGE_SIZE
        machine_name = None
        if state_machine is not None:
            machine_name = arns.name_of(state_machine)
        filters = (machine_name, status_filter)
        ex = executions.c
        query = sa.select(executions).order_by(ex.started_at.desc(), ex.name.desc())
        if next_token is not None:
            after = decode_token(next_token, filters)
            query = query.where(
                sa.or_(
                    ex.started_at < after.started_at,
                    sa.and_(ex.started_at == after.started_at, ex.name < after.name),
                )
            )
        if status_filter is not None:
            query = query.where(ex.status == status_filter)
        if machine_name is not None:
            query = query.where(ex.state_machine == machine_name)
        with self.db.connect() as conn:
            rows = conn.execute(query.limit(size + 1)).all()
        token = None
        if len(rows) > size:
            rows = rows[:size]
            token = encode_token(Cursor(rows[-1].started_at, rows[-1].name), filters)
        return ExecutionPage([self._describe_row(row) for row in rows], token)

    def wait_for(self, name: str, timeout: float = 30.0) -> ExecutionDescription:
        """Block until execution ``name`` ends (else WaitTimeoutError); return its description."""
        deadline = time.monotonic() + timeout
        while True:
            description = self.describe_execution(name)
            if description.status != RUNNING:
                return description
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(
                    f"execution {name!r} is still RUNNING after {timeout} seconds"
                    + ("" if self._running else "; the engine is not started")
                )
            with self._lock:
                self._ended.wait(min(remaining, 0.25))

    def _existing(self, machine: StateMachine, name: str, state_input: Any) -> ExecutionRef:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(executions).where(executions.c.name == name)).one_or_none()
        if row is None:  # removed between the insert and this read: a retry will go through
            raise ExecutionAlreadyExistsError(f"execution {name!r} is being replaced; try again")
        same = (
            row.state_machine == machine.name and row.status == RUNNING and row.input == state_input
        )
        if not same:
            why = "is closed" if row.status != RUNNING else "has a different input or state machine"
            raise ExecutionAlreadyExistsError(
                f"execution {name!r} already exists and {why}; use another name"
            )
        return ExecutionRef(
            name, self.execution_arn(machine.name, name), to_datetime(row.started_at)
        )
