"""The task invoker interface, and the in-process invoker of plain Python functions."""

from __future__ import annotations

import inspect
import json
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bakusoku import arns
from bakusoku.workflow.errors import TaskFailedError


@dataclass(frozen=True)
class TaskRequest:
    """One call of a Task's resource: what it runs, on what, and for which execution and state.

    ``trace_header`` is the X-Ray header the function is to continue (Lambda's
    ``_X_AMZN_TRACE_ID``), when the caller traces the task; an invoker that runs no Lambda
    runtime may ignore it. One value, so that an invoker wrapping another passes it on whole.
    """

    resource: str
    payload: Any
    execution_name: str
    state_name: str
    timeout_seconds: float | None = None
    trace_header: str | None = None


class TaskInvoker(Protocol):
    """Runs a Task's resource: a Lambda function ARN, or another service integration's ARN.

    Raises TaskFailedError(error, cause) for a failure the function reports, as Lambda names it
    (``errorType``) and describes it (the JSON error payload as the cause).
    """

    def invoke(self, task: TaskRequest) -> Any: ...


def lambda_error_cause(exc: BaseException, request_id: str = "") -> str:
    """The error document Lambda's Python runtime writes for an exception of a function.

    Keys in the runtime's order, written with the standard library's spacing, as a plain function
    ARN's Cause shows it; the trace starts at the function (``exc``'s traceback is taken from
    the frame that called it, which is not the function's).
    """
    trace = exc.__traceback__
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_tb(trace.tb_next if trace is not None else None),
        }
    )


REGION = "us-east-1"
ACCOUNT = "123456789012"
LOCAL_PREFIX = "local:"  # "Resource": "local:NAME" runs functions["NAME"] on the state's input


@dataclass(frozen=True)
class TaskCall:
    """One call of an in-process function: what a two-argument function's context is made of."""

    function_name: str
    invoked_arn: str
    execution_name: str
    state_name: str
    timeout_seconds: float | None


class FunctionInvoker:
    """Runs plain Python functions in this process as Tasks, reporting exceptions as Lambda does.

    A resource finds its function by exact key (a full ARN, or any string), else by the Lambda
    function it names: ``NAME``, ``NAME:QUALIFIER``, a partial or full function ARN, or the
    local shorthand ``local:NAME``; a key ``NAME:QUALIFIER`` wins over ``NAME``. A name that no
    function has fails with ``Lambda.ResourceNotFoundException``. A function taking one argument
    gets the payload; one taking two also gets ``context(call)`` for the ``TaskCall``: the call
    itself by default, or whatever the caller's factory makes of it (a Lambda handler's context
    comes from ``bakusoku.runtime.LambdaContext.for_call``; the engine knows no Lambda handlers).
    An exception fails the task with the exception's type name as the Error and Lambda's JSON
    error payload as the Cause.
    """

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        *,
        context: Callable[[TaskCall], Any] | None = None,
        region: str = REGION,
        account: str = ACCOUNT,
    ) -> None:
        self.functions = dict(functions or {})
        self.region = region
        self.account = account
        self._context = context
        # By function (each lives in ``functions`` as long as this): inspecting a signature is slow.
        self._arities: dict[int, int] = {}

    def resolve(self, resource: str) -> tuple[str, Callable[..., Any] | None]:
        """The function name and the function for a Task resource or a lambda:invoke target."""
        ref = _function_ref(resource)
        name = ref.name if ref is not None else resource
        if resource in self.functions:
            return name, self.functions[resource]
        if ref is None:
            return name, None
        keys = [ref.arn(self.region, self.account), ref.name]
        if ref.qualifier:
            keys.insert(1, f"{ref.name}:{ref.qualifier}")
        return name, next((self.functions[k] for k in keys if k in self.functions), None)

    def invoke(self, task: TaskRequest) -> Any:
        name, function = self.resolve(task.resource)
        arn = (
            task.resource
            if arns.is_arn(task.resource)
            else arns.function_arn(self.region, self.account, name)
        )
        if function is None:
            # As the AWS SDK for Java (v1), which Step Functions calls Lambda with, words it.
            raise TaskFailedError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; "
                f"Error Code: ResourceNotFoundException; Request ID: {uuid.uuid4()}; Proxy: null)",
            )
        try:
            if self._arity(function) >= 2:
                call = TaskCall(
                    name, arn, task.execution_name, task.state_name, task.timeout_seconds
                )
                context = call if self._context is None else self._context(call)
                return function(task.payload, context)
            return function(task.payload)
        except TaskFailedError:
            raise
        except Exception as exc:
            cause = lambda_error_cause(exc, str(uuid.uuid4()))
            raise TaskFailedError(type(exc).__name__, cause) from exc

    def _arity(self, function: Callable[..., Any]) -> int:
        arity = self._arities.get(id(function))
        if arity is None:
            arity = self._arities[id(function)] = _arity(function)
        return arity


def _function_ref(resource: str) -> arns.FunctionRef | None:
    if resource.startswith(LOCAL_PREFIX):
        return arns.FunctionRef(resource[len(LOCAL_PREFIX) :])
    try:
        return arns.FunctionRef.parse(resource)
    except arns.ArnError:  # another service's ARN, or no ARN: only an exact key finds it
        return None


def _arity(function: Callable[..., Any]) -> int:
    """How many positional arguments ``function`` takes (two when it cannot be told)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
