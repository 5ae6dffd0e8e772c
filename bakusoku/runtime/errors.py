"""Typed errors of the function runtime, named and shaped as Lambda and Step Functions show them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bakusoku.errors import BakusokuError

# errorType values the Lambda platform itself produces (not the handler's exception names).
TIMEOUT = "Sandbox.Timedout"
EXIT_ERROR = "Runtime.ExitError"
OUT_OF_MEMORY = "Runtime.OutOfMemory"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"

_CODES = {
    TIMEOUT: "runtime.timeout",
    EXIT_ERROR: "runtime.crashed",
    OUT_OF_MEMORY: "runtime.out_of_memory",
    RESPONSE_TOO_LARGE: "runtime.response_too_large",
    "Runtime.ImportModuleError": "runtime.init_failed",
    "Runtime.HandlerNotFound": "runtime.init_failed",
    "Runtime.MalformedHandlerName": "runtime.init_failed",
    "Runtime.UserCodeSyntaxError": "runtime.init_failed",
    "Runtime.BuiltInModuleConflict": "runtime.init_failed",
    "Runtime.MarshalError": "runtime.bad_result",
    "Runtime.UnmarshalError": "runtime.bad_payload",
}


class FunctionConfigError(BakusokuError):
    """A FunctionConfig or FunctionRuntime setting Lambda would refuse; the message names it."""

    code = "runtime.config_invalid"


class RuntimeErrorBase(BakusokuError):
    """Every error ``invoke`` raises; ``error_type`` is the Error name Step Functions shows."""

    code = "runtime.error"

    def __init__(self, error_type: str, error_message: str, *, request_id: str = "") -> None:
        super().__init__(f"{error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message
        self.request_id = request_id

    def cause(self) -> str:
        """The text Step Functions shows as the failure's Cause."""
        return self.error_message


class FunctionError(RuntimeErrorBase):
    """The function failed: its handler raised, timed out, crashed or returned something unusable.

    ``error_type`` is the exception's class name (``ValueError``) or a platform name such as
    ``Sandbox.Timedout``; ``cause_json()`` is the Cause Step Functions shows for it.
    """

    code = "runtime.handler_error"

    def __init__(
        self,
        error_type: str,
        error_message: str,
        *,
        request_id: str = "",
        stack_trace: Sequence[str] = (),
    ) -> None:
        super().__init__(error_type, error_message, request_id=request_id)
        self.stack_trace = list(stack_trace)
        self.code = _CODES.get(error_type, type(self).code)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], *, request_id: str) -> FunctionError:
        """Build from the error document a runtime posts (errorType, errorMessage, stackTrace)."""
        trace = payload.get("stackTrace") or []
        return cls(
            str(payload.get("errorType") or "Unknown"),
            str(payload.get("errorMessage") or ""),
            request_id=str(payload.get("requestId") or request_id),
            stack_trace=[str(line) for line in trace],
        )

    def to_payload(self) -> dict[str, Any]:
        """The error document, keys in the order Lambda's Python runtime writes them."""
        return {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "requestId": self.request_id,
            "stackTrace": list(self.stack_trace),
        }

    def cause_json(self) -> str:
        return json.dumps(self.to_payload())

    def cause(self) -> str:
        return self.cause_json()


class ServiceError(RuntimeErrorBase):
    """The invoke was refused before the function ran (the Lambda API answered with an error)."""

    code = "runtime.refused"
    status_code = 400

    def cause(self) -> str:
        # The shape Step Functions shows for a Lambda API error.
        code = self.error_type.removeprefix("Lambda.")
        return (
            f"{self.error_message} (Service: Lambda, Status Code: {self.status_code}, "
            f"Error Code: {code}, Request ID: {self.request_id})"
        )


class TooManyRequestsError(ServiceError):
    """Throttled: the function's reserved concurrency or the account's concurrency is in use.

    Retry with back-off (Step Functions: Retry on ``Lambda.TooManyRequestsException``) or raise the
    limit. ``reason`` is Lambda's: ``ReservedFunctionConcurrentInvocationLimitExceeded`` or
    ``ConcurrentInvocationLimitExceeded``.
    """

    code = "runtime.throttled"
    status_code = 429

    def __init__(self, reason: str, *, request_id: str = "") -> None:
        super().__init__("Lambda.TooManyRequestsException", "Rate Exceeded.", request_id=request_id)
        self.reason = reason


class ResourceNotFoundError(ServiceError):
    """No function with that name or ARN is configured in this runtime."""

    code = "runtime.function_not_found"
    status_code = 404

    def __init__(self, message: str, *, request_id: str = "") -> None:
        super().__init__("Lambda.ResourceNotFoundException", message, request_id=request_id)


class InvalidRequestContentError(ServiceError):
    """The payload is not a JSON document (Lambda accepts JSON only)."""

    code = "runtime.bad_payload"

    def __init__(self, message: str, *, request_id: str = "") -> None:
        super().__init__("Lambda.InvalidRequestContentException", message, request_id=request_id)


class RequestTooLargeError(ServiceError):
    """The payload is above Lambda's 6 MB synchronous invocation limit."""

    code = "runtime.payload_too_large"
    status_code = 413

    def __init__(self, message: str, *, request_id: str = "") -> None:
        super().__init__("Lambda.RequestTooLargeException", message, request_id=request_id)


class RuntimeClosedError(ServiceError):
    """The runtime was closed; create a new FunctionRuntime to invoke functions again."""

    code = "runtime.closed"
    status_code = 503

    def __init__(self, message: str, *, request_id: str = "") -> None:
        super().__init__("Lambda.ServiceException", message, request_id=request_id)
