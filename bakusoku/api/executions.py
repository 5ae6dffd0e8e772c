"""The API's one door to workflow executions: ``ExecutionsPort`` and the embedded engine's side.

Every route that shows, searches or re-drives an execution calls an ``ExecutionsPort``. The
embedded deployment passes ``EngineExecutions`` (the workflow engine and the history tables it
keeps in the database); AWS passes ``bakusoku.aws.executions.StepFunctionsExecutions``. An
operation a backend cannot serve yet raises ``ExecutionsUnsupportedError``, which the API answers
with a 501 that names what to use instead.
"""

from __future__ import annotations

from typing import Any, Protocol

from bakusoku.errors import BakusokuError
from bakusoku.ops.history import ExecutionHistory, ExecutionQuery
from bakusoku.ops.redrive import RedriveOutcome, Redriver
from bakusoku.ops.status import status_report
from bakusoku.workflow.engine import ExecutionDescription, WorkflowEngine
from bakusoku.workflow.history import HistoryEvent


class ExecutionsUnsupportedError(BakusokuError):
    """An execution operation this deployment's workflow backend cannot serve yet (HTTP 501)."""

    code = "execution.unsupported"

    def __init__(self, operation: str, backend: str, alternative: str) -> None:
        super().__init__(f"{operation} is not available on {backend} yet: {alternative}")
        self.operation = operation
        self.alternative = alternative


class ExecutionsPort(Protocol):
    """What the API asks of workflow executions, whichever backend runs them.

    ``describe_execution`` and ``get_execution_history`` raise ExecutionDoesNotExistError for an
    unknown name; ``redrive`` also raises ExecutionNotRedrivableError and AlreadyReprocessedError.
    Any operation may raise ExecutionsUnsupportedError.
    """

    def describe_execution(self, name: str) -> ExecutionDescription:
        """The execution as DescribeExecution shows it."""
        ...

    def get_execution_history(self, name: str) -> list[HistoryEvent]:
        """Every event of the execution so far, oldest first."""
        ...

    def search_executions(self, query: ExecutionQuery) -> list[dict[str, Any]]:
        """Executions matching ``query``, newest first, as search rows."""
        ...

    def execution_summary(self, name: str) -> dict[str, Any]:
        """One execution's search row."""
        ...

    def reprocessed_as(self, name: str) -> list[str]:
        """The executions that processed ``name``'s photo again after it failed, oldest first."""
        ...

    def redrive(self, name: str) -> RedriveOutcome:
        """Process a failed execution's photo again (in place, or as a new execution)."""
        ...

    def status_report(self) -> dict[str, Any]:
        """Photos by status, running executions, failure rate, latency, slowest state."""
        ...

    def check_ready(self) -> None:
        """Return when executions can run; otherwise raise a WorkflowError saying why not."""
        ...


class EngineExecutions:
    """The embedded workflow engine's executions, searched in the history tables it keeps."""

    def __init__(self, engine: WorkflowEngine, upload_prefix: str) -> None:
        self.engine = engine
        self.history = ExecutionHistory(engine.db, engine, upload_prefix)
        self.redriver = Redriver(engine, engine.db, upload_prefix)

    def describe_execution(self, name: str) -> ExecutionDescription:
        return self.engine.describe_execution(name)

    def get_execution_history(self, name: str) -> list[HistoryEvent]:
        return self.engine.get_execution_history(name)

    def search_executions(self, query: ExecutionQuery) -> list[dict[str, Any]]:
        return self.history.search(query)

    def execution_summary(self, name: str) -> dict[str, Any]:
        return self.history.summary(name)

    def reprocessed_as(self, name: str) -> list[str]:
        return self.redriver.reprocessed_as(name)

    def redrive(self, name: str) -> RedriveOutcome:
        return self.redriver.redrive(name)

    def status_report(self) -> dict[str, Any]:
        return status_report(self.engine.db)

    def check_ready(self) -> None:
        self.engine.ensure_running()
