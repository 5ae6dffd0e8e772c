"""An execution's history read as a story: states with durations and attempts, and what failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bakusoku.workflow.history import HistoryEvent

_ATTEMPT_START = ("TaskScheduled", "LambdaFunctionScheduled")
_ATTEMPT_OK = ("TaskSucceeded", "LambdaFunctionSucceeded")
_ATTEMPT_FAILED = (
    "TaskFailed",
    "TaskTimedOut",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
    "TaskStartFailed",
    "TaskSubmitFailed",
)

_SCOPES = ("ParallelStateEntered", "MapStateEntered")
_SCOPE_END = (
    "ParallelStateSucceeded",
    "ParallelStateFailed",
    "MapStateSucceeded",
    "MapStateFailed",
)


@dataclass
class Attempt:
    """One try of a Task: when it ran and, if it failed, with which error."""

    started: float
    ended: float | None = None
    error: str | None = None
    cause: str | None = None

    @property
    def ok(self) -> bool:
        return self.ended is not None and self.error is None

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else self.ended - self.started


@dataclass
class StateVisit:
    """One entry into a state, until it exited (or the execution moved on without an exit)."""

    name: str
    type: str
    entered: float
    exited: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    parent: int | None = None  # index of the enclosing visit (a Parallel or Map state)

    @property
    def duration(self) -> float | None:
        return None if self.exited is None else self.exited - self.entered

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)

    @property
    def failed_attempts(self) -> list[Attempt]:
        return [a for a in self.attempts if a.error is not None]


@dataclass
class Timeline:
    """What happened in one run of an execution (the part after its last re-drive)."""

    started: float
    ended: float | None
    states: list[StateVisit]
    outcome: str | None  # the closing event type, e.g. ExecutionFailed
    error: str | None
    cause: str | None
    redrives: int

    @property
    def failed_state(self) -> StateVisit | None:
        """The state whose error ended the run: the last one whose final attempt failed."""
        if self.outcome in (None, "ExecutionSucceeded"):
            return None
        for visit in reversed(self.states):
            if visit.attempts and visit.attempts[-1].error is not None:
                return visit
        return self.states[-1] if self.states else None

    def to_json(self) -> dict[str, Any]:
        failed = self.failed_state
        return {
            "started": self.started,
            "ended": self.ended,
            "duration_seconds": None if self.ended is None else self.ended - self.started,
            "outcome": self.outcome,
            "redrives": self.redrives,
            "states": [
                {
                    "name": v.name,
                    "type": v.type,
                    "entered": v.entered,
                    "exited": v.exited,
                    "duration_seconds": v.duration,
                    "attempts": len(v.attempts),
                    "retries": v.retries,
                    "errors": [
                        {"error": a.error, "cause": a.cause, "at": a.ended}
                        for a in v.failed_attempts
                    ],
                    "parent": None if v.parent is None else self.states[v.parent].name,
                }
                for v in self.states
            ],
            "failure": None
            if failed is None
            else {
                "state": failed.name,
                "attempts": len(failed.attempts),
                "error": (failed.attempts[-1].error if failed.attempts else None) or self.error,
                "cause": (failed.attempts[-1].cause if failed.attempts else None) or self.cause,
            },
        }


def build_timeline(events: Sequence[HistoryEvent], *, whole: bool = False) -> Timeline:
    """Read ``events`` (oldest first); unless ``whole``, only what followed the last re-drive."""
    redrives = sum(1 for e in events if e.type == "ExecutionRedriven")
    if not whole:
        last = max((i for i, e in enumerate(events) if e.type == "ExecutionRedriven"), default=0)
        events = events[last:]
    started = events[0].timestamp.timestamp() if events else 0.0
    states: list[StateVisit] = []
    open_visits: list[int] = []  # indexes of visits entered and not exited, innermost last
    finished_scopes: set[int] = set()
    outcome = error = cause = None
    ended: float | None = None
    for event in events:
        at = event.timestamp.timestamp()
        kind = event.type
        details = event.details or {}
        if kind.endswith("StateEntered"):
            parent = _enclosing(states, open_visits, finished_scopes)
            # At the top level a state starts only after the previous one ended (a caught error
            # leaves a state without an exit event); branches of a Parallel or Map run side by
            # side, and their scope's end closes them.
            for sibling in [i for i in open_visits if parent is None and states[i].parent is None]:
                states[sibling].exited = states[sibling].exited or at
                open_visits.remove(sibling)
            states.append(StateVisit(str(event.state_name or details.get("name")), kind, at))
            states[-1].parent = parent
            open_visits.append(len(states) - 1)
        elif kind in _SCOPE_END:
            scope = _find_open(states, open_visits, event.state_name)
            if scope is not None:
                finished_scopes.add(scope)
                for child in [i for i in open_visits if _inside(states, i, scope)]:
                    states[child].exited = states[child].exited or at
                    open_visits.remove(child)
        elif kind.endswith("StateExited"):
            found = _find_open(states, open_visits, event.state_name or details.get("name"))
            if found is not None:
                states[found].exited = at
                open_visits.remove(found)
        elif kind in _ATTEMPT_START:
            task = _find_open(states, open_visits, event.state_name)
            if task is not None:
                states[task].attempts.append(Attempt(at))
        elif kind in _ATTEMPT_OK or kind in _ATTEMPT_FAILED:
            tried = _find_open(states, open_visits, event.state_name)
            if tried is not None and states[tried].attempts:
                attempt = states[tried].attempts[-1]
                attempt.ended = at
                if kind in _ATTEMPT_FAILED:
                    attempt.error = str(details.get("error") or kind)
                    attempt.cause = details.get("cause")
        elif kind in (
            "ExecutionSucceeded",
            "ExecutionFailed",
            "ExecutionTimedOut",
            "ExecutionAborted",
        ):
            outcome, ended = kind, at
            error, cause = details.get("error"), details.get("cause")
            for still_open in open_visits:  # a failing state is left without an exit event
                states[still_open].exited = states[still_open].exited or at
            open_visits.clear()
    return Timeline(started, ended, states, outcome, error, cause, redrives)


def _enclosing(states: list[StateVisit], open_visits: list[int], finished: set[int]) -> int | None:
    for index in reversed(open_visits):
        if states[index].type in _SCOPES and index not in finished:
            return index
    return None


def _inside(states: list[StateVisit], index: int, scope: int) -> bool:
    parent = states[index].parent
    while parent is not None:
        if parent == scope:
            return True
        parent = states[parent].parent
    return False


def _find_open(states: list[StateVisit], open_visits: list[int], name: Any) -> int | None:
    for index in reversed(open_visits):
        if states[index].name == name:
            return index
    return None
