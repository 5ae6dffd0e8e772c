"""The task invoker interface, and an in-process invoker of plain Python functions keyed by ARN."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from bakusoku.workflow.errors import TaskFailedError


class TaskInvoker(Protocol):
    """Runs a Task's resource: a Lambda function ARN, or another service integration's ARN.

    Raises TaskFailedError(error, cause) for a failure the function reports, as Lambda names it
    (``errorType``) and describes it (the JSON error payload as the cause). ``trace_header`` is
    the X-Ray header the function is to continue (Lambda's ``_X_AMZN_TRACE_ID``), when the
    caller traces the task; an invoker that runs no Lambda runtime may ignore it.
    """

    def invoke(
        self,
        resource: str,
        payload: Any,
        *,
        timeout_seconds: float | None,
        execution_name: str,
        state_name: str,
        trace_header: str | None = None,
    ) -> Any: ...


def lambda_error_cause(exc: BaseException) -> str:
    """The cause string Step Functions shows for an exception raised in a Python Lambda function."""
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": "",
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    )


class FunctionInvoker:
    """Calls ``functions[resource](payload)`` in-process, reporting exceptions as Lambda does.

    Handy for tests and for running small state machines without a Lambda runtime; a function
    that takes two arguments also receives a context dict with the execution and state names.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.functions = dict(functions)

    def invoke(
        self,
        resource: str,
        payload: Any,
        *,
        timeout_seconds: float | None,
        execution_name: str,
        state_name: str,
        trace_header: str | None = None,
    ) -> Any:
        function = self.functions.get(resource)
        if function is None:
            raise TaskFailedError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {resource}; register it with the invoker",
            )
        try:
            if (
                getattr(function, "__code__", None) is not None
                and function.__code__.co_argcount >= 2
            ):
                context = {"execution_name": execution_name, "state_name": state_name}
                return function(payload, context)
            return function(payload)
        except TaskFailedError:
            raise
        except Exception as exc:
            raise TaskFailedError(type(exc).__name__, lambda_error_cause(exc)) from exc
