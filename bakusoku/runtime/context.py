"""LambdaContext: the ``context`` handlers receive, with the attributes Lambda's runtime sets.

The one Lambda context of the code base. A worker process builds it from the environment its
execution environment was started with, as Lambda's Python runtime does; ``for_call`` builds one
for a handler called in this process (tests and tools), from the facts of the call.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Protocol

MAX_TIMEOUT_SECONDS = 900  # Lambda's largest function timeout
IN_PROCESS_MEMORY_MB = "128"  # Lambda's default memory size; nothing enforces it in process


class FunctionCall(Protocol):
    """What an in-process caller knows of one call (the workflow engine's ``TaskCall``)."""

    @property
    def function_name(self) -> str: ...

    @property
    def invoked_arn(self) -> str: ...

    @property
    def timeout_seconds(self) -> float | None: ...


class LambdaContext:
    """Per-invocation facts; as on Lambda, ``memory_limit_in_mb`` is a string.

    Without explicit values the function's facts are read from the ``AWS_LAMBDA_*`` environment
    variables of the execution environment, as Lambda's runtime reads them.
    """

    def __init__(
        self,
        request_id: str,
        invoked_function_arn: str,
        deadline_epoch_ms: int,
        *,
        function_name: str | None = None,
        function_version: str | None = None,
        memory_limit_in_mb: str | None = None,
        log_group_name: str | None = None,
        log_stream_name: str | None = None,
    ) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = _given(function_name, "AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = _given(function_version, "AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = _given(memory_limit_in_mb, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = _given(log_group_name, "AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = _given(log_stream_name, "AWS_LAMBDA_LOG_STREAM_NAME")
        # Only mobile SDK and Cognito callers set these on Lambda; local invokes never do.
        self.client_context: object | None = None
        self.identity: object | None = None
        self.tenant_id: str | None = None
        self._deadline_epoch_ms = deadline_epoch_ms

    @classmethod
    def for_call(cls, call: FunctionCall) -> LambdaContext:
        """The context of a handler called in this process: a new request id, the call's timeout
        (Lambda's largest without one), the function's log group, version ``$LATEST``."""
        timeout = call.timeout_seconds if call.timeout_seconds else MAX_TIMEOUT_SECONDS
        return cls(
            str(uuid.uuid4()),
            call.invoked_arn,
            int((time.time() + timeout) * 1000),
            function_name=call.function_name,
            function_version="$LATEST",
            memory_limit_in_mb=IN_PROCESS_MEMORY_MB,
            log_group_name=f"/aws/lambda/{call.function_name}",
            log_stream_name="",
        )

    def get_remaining_time_in_millis(self) -> int:
        remaining = self._deadline_epoch_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name}])"
        )


def _given(value: str | None, variable: str) -> str | None:
    return value if value is not None else os.environ.get(variable)
