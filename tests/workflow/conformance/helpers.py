"""Shared by the conformance suite: run a documented example and compare with AWS's result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bakusoku.runtime import LambdaContext
from bakusoku.workflow import RunResult, run_definition

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def run(
    definition: Mapping[str, Any],
    state_input: Any = None,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> RunResult:
    # Functions are Lambda handlers: a two-argument one gets the runtime's Lambda context.
    return run_definition(
        dict(definition),
        state_input,
        functions=functions,
        context=LambdaContext.for_call,
        skip_waits=True,
    )


def succeeds(
    definition: Mapping[str, Any],
    state_input: Any,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """The output of a run that must succeed."""
    result = run(definition, state_input, functions)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result.output


def fails(
    definition: Mapping[str, Any],
    state_input: Any,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> RunResult:
    result = run(definition, state_input, functions)
    assert result.status == "FAILED", result.output
    return result


def single(state: Mapping[str, Any], **top: Any) -> dict[str, Any]:
    """A machine of one state named ``S`` (given without Next/End)."""
    body = dict(state)
    if body["Type"] not in ("Choice", "Succeed", "Fail"):
        body["End"] = True
    return {"StartAt": "S", "States": {"S": body}, **top}


def state_error(state: str, entered_event_id: int, detail: str) -> str:
    """The cause Step Functions gives an error of a state itself: where, then what."""
    return (
        f"An error occurred while executing the state '{state}' "
        f"(entered at the event id #{entered_event_id}). {detail}"
    )


def failure(result: RunResult) -> tuple[str | None, str | None]:
    """A failed run's error and cause."""
    assert result.status == "FAILED", result.output
    return result.error, result.cause
