"""FunctionConfig: what one Lambda-style function is, validated the way Lambda validates it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bakusoku.runtime.errors import FunctionConfigError

# Lambda's limits (CreateFunction); timeouts below one second are allowed so tests stay fast.
MIN_MEMORY_MB = 128
MAX_MEMORY_MB = 10_240
MAX_TIMEOUT_SECONDS = 900.0

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# Keys Lambda sets itself and refuses in a function's environment (InvalidParameterValueException).
RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


def _frozen_env() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class FunctionConfig:
    """One function: its name, its handler ``package.module.function`` and Lambda's settings."""

    name: str
    handler: str
    timeout_seconds: float = 10
    memory_mb: int = 2048
    environment: Mapping[str, str] = field(default_factory=_frozen_env)
    reserved_concurrency: int | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise FunctionConfigError(
                f"function name {self.name!r} is invalid: use 1-64 letters, digits, '-' or '_'"
            )
        module, _, attribute = self.handler.rpartition(".")
        if not module or not attribute:
            raise FunctionConfigError(
                f"function {self.name!r}: handler {self.handler!r} must be 'module.function', "
                "for example 'app.handlers.resize.handler'"
            )
        if not 0 < self.timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise FunctionConfigError(
                f"function {self.name!r}: timeout_seconds={self.timeout_seconds} must be above 0 "
                f"and at most {MAX_TIMEOUT_SECONDS:g}"
            )
        if not MIN_MEMORY_MB <= self.memory_mb <= MAX_MEMORY_MB:
            raise FunctionConfigError(
                f"function {self.name!r}: memory_mb={self.memory_mb} must be between "
                f"{MIN_MEMORY_MB} and {MAX_MEMORY_MB}"
            )
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            raise FunctionConfigError(
                f"function {self.name!r}: reserved_concurrency={self.reserved_concurrency} "
                "must be 0 or more (0 turns the function off), or None for none"
            )
        check_environment(self.environment, owner=f"function {self.name!r}", reserved=True)
        # Freeze a copy so the config stays hashable-in-spirit and nobody mutates it afterwards.
        object.__setattr__(self, "environment", MappingProxyType(dict(self.environment)))


def check_environment(environment: Mapping[str, str], *, owner: str, reserved: bool) -> None:
    """Raise FunctionConfigError when a key or value is not one Lambda would accept."""
    for key, value in environment.items():
        if not isinstance(key, str) or not _ENV_KEY.match(key):
            raise FunctionConfigError(
                f"{owner}: environment key {key!r} is invalid: start with a letter, "
                "then letters, digits or '_'"
            )
        if not isinstance(value, str):
            raise FunctionConfigError(
                f"{owner}: environment value of {key} is {type(value).__name__}; "
                "Lambda environment values are strings, convert it with str()"
            )
        if reserved and key in RESERVED_ENV_KEYS:
            raise FunctionConfigError(
                f"{owner}: environment key {key} is reserved by Lambda and cannot be set; "
                "rename it (Lambda sets it itself)"
            )
