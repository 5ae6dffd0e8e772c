"""A recorded execution: the definition, the input, and what Step Functions recorded for it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

LS = "localstack/localstack:tests/aws/services/stepfunctions/v2/"
REGION = "us-east-1"
ACCOUNT = "111111111111"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"


@dataclass(frozen=True)
class Case:
    """One execution recorded on AWS (``source``: repository path and test name)."""

    source: str
    definition: Mapping[str, Any]
    input: Any
    status: str = "SUCCEEDED"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    # The recorded history's event types, in order, where they are cheap to keep.
    events: tuple[str, ...] | None = None
    # The variables each StateExited event records as assigned: (state, {name: value}), in order.
    assigned: tuple[tuple[str, Mapping[str, Any]], ...] | None = None
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    # Why the engine does not reproduce this recording (a known difference the README lists);
    # the test then expects the difference, so it fails once the engine reproduces it.
    known_difference: str | None = None
    # Names the recording shows only masked; the case's expectations use these in their place.
    execution_name: str = "execution"
    machine_name: str = "statemachine_1a2b3c"

    @property
    def name(self) -> str:
        return self.source.rsplit("::", 1)[-1]


def raise_exception(_event: Any, _context: Any = None) -> Any:
    """The recordings' ``lambda_raise_exception``: a Python 3.12 handler that raises."""
    raise Exception("Some exception was raised.")


def echo(event: Any, _context: Any = None) -> Any:
    """The recordings' ``lambda_echo``: returns its event."""
    return event


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
_REQUEST_ID = re.compile(r'("requestId": ?")[^"]*(")')
_STACK_TRACE = re.compile(r'("stackTrace": ?\[).*?(\])(?=\}$|, ?")', re.DOTALL)


def without_run_details(value: Any) -> Any:
    """``value`` with a function error's request id and stack trace, UUIDs and times,
    blanked.

    Both differ per call (and the stack trace names the recording's own handler file), so a
    recorded error document is compared on everything else: its keys, order, spacing and texts.
    """
    if isinstance(value, str):
        if _UUID.match(value):
            return "<uuid>"  # States.UUID()
        if _TIMESTAMP.match(value):
            return "<time>"  # the context object's StartTime and EnteredTime
        return _STACK_TRACE.sub(r"\1\2", _REQUEST_ID.sub(r"\1<request-id>\2", value))
    if isinstance(value, list):
        return [without_run_details(item) for item in value]
    if isinstance(value, dict):
        return {key: without_run_details(item) for key, item in value.items()}
    return value
