"""The task invoker as operations sees it: log context, a live task span, the worker's trace header.

``OpsInvoker`` wraps the deployment's TaskInvoker: it tags the log lines of each task with its
photo and execution, and when tracing is on runs the call inside a live task span and passes that
span's X-Ray header to the inner invoker as ``trace_header`` (the worker continues the trace).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bakusoku.db.schema import photos
from bakusoku.ops.history import photo_of
from bakusoku.ops.logs import log_context
from bakusoku.workflow.invoker import TaskInvoker, TaskRequest
from bakusoku.workflow.tables import executions

if TYPE_CHECKING:
    from bakusoku.ops.tracing import Tracing


@dataclass(frozen=True)
class ExecutionFacts:
    """What operations needs to know about a running execution to tag its tasks."""

    photo_id: str | None
    album: str | None
    started_at: float
    redrive_count: int
    trace_parent: str | None


class ExecutionFactsCache:
    """Reads (and remembers, for the few executions running) an execution's photo and trace."""

    def __init__(self, db: sa.Engine, upload_prefix: str, size: int = 1024) -> None:
        self.db = db
        self.upload_prefix = upload_prefix
        self.size = size
        self._cache: OrderedDict[str, ExecutionFacts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> ExecutionFacts | None:
        with self._lock:
            facts = self._cache.get(name)
        if facts is not None:
            return facts
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(
                    executions.c.input, executions.c.started_at, executions.c.redrive_count
                ).where(executions.c.name == name)
            ).one_or_none()
            if row is None:
                return None
            ref = photo_of(row.input, self.upload_prefix)
            trace_parent = None
            if ref is not None:
                trace_parent = conn.execute(
                    sa.select(photos.c.trace_parent).where(photos.c.photo_id == ref.photo_id)
                ).scalar_one_or_none()
        facts = ExecutionFacts(
            ref.photo_id if ref else None,
            ref.album if ref else None,
            float(row.started_at),
            int(row.redrive_count or 0),
            trace_parent,
        )
        with self._lock:
            self._cache[name] = facts
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return facts

    def forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)


class OpsInvoker:
    """Wraps the engine's TaskInvoker: tags log lines, and traces each task when tracing is on."""

    def __init__(
        self, inner: TaskInvoker, facts: ExecutionFactsCache, tracing: Tracing | None = None
    ) -> None:
        self.inner = inner
        self.facts = facts
        self.tracing = tracing

    def invoke(self, task: TaskRequest) -> Any:
        try:
            facts = self.facts.get(task.execution_name)
        except sa.exc.SQLAlchemyError:
            facts = None  # the task itself reports a database outage, not operations
        with (
            log_context(
                photo_id=facts.photo_id if facts else None, execution_name=task.execution_name
            ),
            self._task_span(facts, task) as span_header,
        ):
            traced = dataclasses.replace(task, trace_header=span_header or task.trace_header)
            return self.inner.invoke(traced)

    @contextlib.contextmanager
    def _task_span(self, facts: ExecutionFacts | None, task: TaskRequest) -> Iterator[str | None]:
        """The task's live span when tracing is on; yields its X-Ray header (None when off)."""
        if self.tracing is None or facts is None:
            yield None
            return
        trace_id, _ = self.tracing.execution_ids(
            task.execution_name, facts.started_at, facts.redrive_count, facts.trace_parent
        )
        with self.tracing.task_span(
            trace_id=trace_id,
            execution=task.execution_name,
            redrive_count=facts.redrive_count,
            state=task.state_name,
            resource=task.resource,
        ) as span:
            yield span.trace_header
