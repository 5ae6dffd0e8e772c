"""Task tokens of ``.waitForTaskToken`` tasks, answered by SendTaskSuccess, Failure and Heartbeat."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bakusoku.workflow.errors import WorkflowError


class TaskDoesNotExistError(WorkflowError):
    """No running task waits on this token (it finished, timed out, or never existed)."""

    code = "workflow.task_not_found"


class InvalidOutputError(WorkflowError):
    """The output sent for a task token is not JSON."""

    code = "workflow.invalid_output"


@dataclass
class PendingTask:
    """A task waiting for its token to be answered."""

    token: str
    answered: threading.Event = field(default_factory=threading.Event)
    last_heartbeat: float = field(default_factory=time.monotonic)
    output: Any = None
    error: str | None = None
    cause: str | None = None
    failed: bool = False


class TaskTokens:
    """The open task tokens of one engine."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, PendingTask] = {}

    def open(self, token: str) -> PendingTask:
        pending = PendingTask(token)
        with self._lock:
            self._open[token] = pending
        return pending

    def close(self, token: str) -> None:
        with self._lock:
            self._open.pop(token, None)

    def _take(self, token: str) -> PendingTask:
        with self._lock:
            pending = self._open.pop(token, None)
        if pending is None:
            raise TaskDoesNotExistError(
                "no running task waits on this token: it finished, timed out or was never issued"
            )
        return pending

    def succeed(self, token: str, output: Any) -> None:
        """SendTaskSuccess: ``output`` is JSON text (as the API takes it) or a JSON value."""
        if isinstance(output, str):
            try:
                value = json.loads(output)
            except json.JSONDecodeError as exc:
                raise InvalidOutputError(f"task output must be JSON text: {exc}") from None
        else:
            try:
                value = json.loads(json.dumps(output))
            except (TypeError, ValueError) as exc:
                raise InvalidOutputError(f"task output must be JSON: {exc}") from None
        pending = self._take(token)
        pending.output = value
        pending.answered.set()

    def fail(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        """SendTaskFailure: the task fails with ``error`` and ``cause``."""
        pending = self._take(token)
        pending.failed, pending.error, pending.cause = True, error, cause
        pending.answered.set()

    def heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat: the task is alive; its HeartbeatSeconds clock restarts."""
        with self._lock:
            pending = self._open.get(token)
        if pending is None:
            raise TaskDoesNotExistError("no running task waits on this token")
        pending.last_heartbeat = time.monotonic()
