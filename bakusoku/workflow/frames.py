"""What one run of the interpreter is made of: the execution's facts, frames, visits, variables.

A ``Frame`` is where a machine runs (the top level, a Parallel branch, a Map iteration) with its
variables, cancel scope and line of history; a ``StateRun`` is one visit of one state. The
``EventSink`` is where the interpreter reports history events and top-level progress (the engine's
recorder, or ``run_definition``'s memory). ``state_failure`` words an error of a state as Step
Functions does. ``dumps`` and ``check_size`` give a value's JSON as
history events carry it and enforce Step Functions' payload quota.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bakusoku.workflow import jsontext
from bakusoku.workflow.cancel import CancelScope
from bakusoku.workflow.errors import (
    MAX_PAYLOAD_BYTES,
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_RUNTIME,
    StatesError,
)
from bakusoku.workflow.paths import PathNotFoundError


@dataclass(frozen=True)
class ExecutionInfo:
    """What the context object (``$$``) says about the execution."""

    arn: str
    name: str
    input: Any
    start_time: float
    state_machine_arn: str
    state_machine_name: str
    region: str
    account: str
    role_arn: str = ""
    redrive_count: int = 0
    express: bool = False  # an Express workflow's execution (its context object differs)


@dataclass(frozen=True)
class Checkpoint:
    """A top-level state about to run: what a resumed or redriven execution starts again from.

    ``entered`` is when the state was first entered (None: now; a resumed state keeps its first
    time), ``done_children`` the outputs of the branches or iterations that already succeeded.
    """

    state_name: str
    state_input: Any
    variables: dict[str, Any]
    entered: float | None = None
    done_children: dict[int, Any] | None = None


class EventSink(Protocol):
    """Where the interpreter reports history events and top-level progress."""

    def emit(
        self,
        event_type: str,
        details: dict[str, Any] | None,
        *,
        previous: int,
        state_name: str | None = None,
    ) -> int: ...

    def checkpoint(self, point: Checkpoint) -> None: ...

    def child_done(self, index: int, output: Any) -> None: ...

    def flush(self) -> object: ...


@dataclass
class Track:
    """The id of the last event on one line of history (the execution, a branch, an iteration)."""

    last: int


class Variables:
    """Workflow variables of one scope; nested scopes read outer ones but assign only locally."""

    def __init__(
        self, local: dict[str, Any] | None = None, parent: Variables | None = None
    ) -> None:
        self.local = local if local is not None else {}
        self.parent = parent

    def lookup(self, name: str) -> Any:
        scope: Variables | None = self
        while scope is not None:
            if name in scope.local:
                return scope.local[name]
            scope = scope.parent
        raise PathNotFoundError(f"variable ${name} is not defined in this scope")

    def child(self) -> Variables:
        return Variables({}, self)

    def all(self) -> dict[str, Any]:
        merged = self.parent.all() if self.parent is not None else {}
        merged.update(self.local)
        return merged


@dataclass
class Frame:
    """Where a machine (the top level, a branch, an iteration) runs."""

    machine: Mapping[str, Any]
    language: str
    variables: Variables
    cancel: CancelScope
    track: Track
    top: bool


@dataclass
class StateRun:
    """One state's visit: what the context object's State section and Map.Item say."""

    name: str
    entered: float
    retry_count: int = 0
    # Only the states that can retry (Task, Parallel, Map) show State.RetryCount in ``$$``.
    retries: bool = False
    first_entered: float | None = None  # when a resumed state was first entered, before a restart
    # Outputs of a resumed top-level Parallel's branches that had already succeeded, by index.
    done_children: dict[int, Any] | None = None
    map_item: tuple[int, Any] | None = None
    task_token: str | None = None
    entered_event_id: int = 0  # the id of this visit's StateEntered event
    entered_previous_event_id: int = 0  # and the id of the event before it
    # What the state's Assign (or its matched Choice rule's or catcher's) assigned, for its
    # exited event.
    assigned: dict[str, Any] | None = None
    # The visit's line of history, for the events a failing evaluation adds (EvaluationFailed).
    track: Track | None = None


def state_failure(run: StateRun, detail: str, error: str = STATES_RUNTIME) -> StatesError:
    """An error of the state itself (not of its task), with the cause worded as Step Functions does.

    Step Functions names the state and the history event that entered it before the detail:
    ``An error occurred while executing the state 'S' (entered at the event id #2). <detail>``.
    """
    return StatesError(
        error,
        f"An error occurred while executing the state '{run.name}' "
        f"(entered at the event id #{run.entered_event_id}). {detail}",
    )


def dumps(value: Any) -> str:
    """JSON text of a value as history events carry it."""
    return jsontext.dumps(value)


def as_text(value: Any) -> str:
    """A value as Step Functions prints it inside a message: a string as it is, else as JSON."""
    return value if isinstance(value, str) else dumps(value)


def too_large(text: str) -> bool:
    """Whether JSON ``text`` is over the 256 KiB payload quota."""
    return len(text) * 4 > MAX_PAYLOAD_BYTES and len(text.encode()) > MAX_PAYLOAD_BYTES


def result_too_large(owner: str) -> str:
    """States.DataLimitExceeded's cause for a result over the quota, as Step Functions words it.

    ``owner`` is the state, the function ARN of a Lambda task or the integration (``lambda``).
    """
    return (
        f"The state/task '{owner}' returned a result with a size exceeding the maximum number "
        "of bytes service limit."
    )


def check_output_size(text: str, state_name: str) -> None:
    """Raise States.DataLimitExceeded when a state's output is over the quota."""
    if too_large(text):
        raise StatesError(STATES_DATA_LIMIT_EXCEEDED, result_too_large(state_name))


def check_size(text: str, what: str) -> None:
    """Raise States.DataLimitExceeded when JSON ``text`` is over the 256 KiB payload quota."""
    if too_large(text):
        raise StatesError(
            STATES_DATA_LIMIT_EXCEEDED,
            f"{what} is {len(text.encode())} bytes, over the {MAX_PAYLOAD_BYTES}-byte quota "
            "Step Functions allows; pass a reference (an object key) instead of the data",
        )
