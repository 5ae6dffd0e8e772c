"""Runs the workflow's Lambda tasks on the local function runtime, as Step Functions calls Lambda."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bakusoku.runtime import FunctionRuntime, RuntimeErrorBase
from bakusoku.workflow.errors import TaskFailedError
from bakusoku.workflow.invoker import TaskRequest


class RuntimeInvoker:
    """A TaskInvoker over FunctionRuntime; at most ``parallelism`` tasks run at once (the CPUs).

    The task's ``trace_header`` reaches the function as ``_X_AMZN_TRACE_ID``; without one the
    runtime starts a new, unsampled trace, as Lambda does. ``before_task`` runs first, before the
    task takes a slot (the stack's: wait while uploads arrive, ``local.upload_priority``).
    """

    def __init__(
        self,
        runtime: FunctionRuntime,
        parallelism: int,
        before_task: Callable[[], object] = lambda: None,
    ) -> None:
        self._runtime = runtime
        self._slots = threading.BoundedSemaphore(parallelism)
        self._before_task = before_task

    def invoke(self, task: TaskRequest) -> Any:
        self._before_task()
        with self._slots:
            try:
                return self._runtime.invoke(
                    task.resource, task.payload, trace_header=task.trace_header
                )
            except RuntimeErrorBase as exc:  # handler errors, throttles, timeouts, crashes
                raise TaskFailedError(exc.error_type, exc.cause()) from exc
