"""Lambda-style function runtime: handlers, context, worker processes."""

from bakusoku.runtime.config import FunctionConfig
from bakusoku.runtime.context import LambdaContext
from bakusoku.runtime.errors import (
    FunctionConfigError,
    FunctionError,
    InvalidRequestContentError,
    RequestTooLargeError,
    ResourceNotFoundError,
    RuntimeClosedError,
    RuntimeErrorBase,
    ServiceError,
    TooManyRequestsError,
)
from bakusoku.runtime.function_runtime import FunctionRuntime
from bakusoku.runtime.metrics import FunctionMetrics, RuntimeMetrics

__all__ = [
    "FunctionConfig",
    "FunctionConfigError",
    "FunctionError",
    "FunctionMetrics",
    "FunctionRuntime",
    "InvalidRequestContentError",
    "LambdaContext",
    "RequestTooLargeError",
    "ResourceNotFoundError",
    "RuntimeClosedError",
    "RuntimeErrorBase",
    "RuntimeMetrics",
    "ServiceError",
    "TooManyRequestsError",
]
