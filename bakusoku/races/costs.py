"""What each function costs per call, measured from the executions' history.

Every Task's call is in the history: ``LambdaFunctionScheduled`` (or ``TaskScheduled``) and its
``...Succeeded`` end, with the state's name. Between the two lies the call itself, and, on one
machine, any wait for a free worker: a spike's history would price a 50 ms call at the seconds it
queued. So only calls that found a worker free count: those scheduled while fewer than ``slots``
calls (the machine's workers) were under way. The median and p95 of those calls' durations per
state, over the last ``since_seconds``, are the measured cost of the function the state calls.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from bakusoku.races.capacity import MIN_SAMPLES, FunctionCost, default_cost
from bakusoku.workflow.tables import execution_events

_SCHEDULED = ("LambdaFunctionScheduled", "TaskScheduled")
_SUCCEEDED = ("LambdaFunctionSucceeded", "TaskSucceeded")
# A call ends by succeeding, failing or timing out: each frees its worker.
_ENDS = (
    *_SUCCEEDED,
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "TaskFailed",
    "TaskTimedOut",
)
_MAX_EVENTS = 200_000  # the most recent calls: plenty for a median and a p95


def _task_events(db: sa.Engine, since_seconds: float, now: float | None) -> list[Any]:
    """The Task states' schedule and end events of the last ``since_seconds`` (the most recent
    ``_MAX_EVENTS``), oldest first, so a call's schedule comes before its end (an end before its
    schedule at the same timestamp sorts after it: ends of equal time are handled last)."""
    now = time.time() if now is None else now
    t = execution_events.c
    query = (
        sa.select(t.execution_name, t.state_name, t.type, t.timestamp)
        .where(t.type.in_(_SCHEDULED + _ENDS), t.timestamp >= now - since_seconds)
        .order_by(t.timestamp.desc())
        .limit(_MAX_EVENTS)
    )
    with db.connect() as conn:
        return sorted(conn.execute(query), key=lambda r: (r[3], r[2] not in _SCHEDULED))


def task_durations(
    db: sa.Engine,
    since_seconds: float = 7 * 86400,
    now: float | None = None,
    slots: int | None = None,
) -> dict[str, list[float]]:
    """Seconds from scheduled to succeeded of each Task state's calls, by state name; with
    ``slots``, only the calls scheduled while fewer than ``slots`` calls were under way."""
    rows = _task_events(db, since_seconds, now)
    under_way: dict[tuple[str, str], tuple[float, bool]] = {}
    durations: dict[str, list[float]] = defaultdict(list)
    for execution, state, kind, at in rows:
        if state is None:
            continue
        key = (execution, state)
        if kind in _SCHEDULED:
            queued = slots is not None and len(under_way) >= slots
            under_way[key] = (at, queued)
            continue
        began = under_way.pop(key, None)
        if began is not None and kind in _SUCCEEDED and not began[1]:
            durations[state].append(at - began[0])
    return dict(durations)


def nearest_rank(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of non-empty ``values``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def measured_cost(
    function: str,
    durations: list[float],
    *,
    memory_mb: int = 0,
    connections: int = 1,
) -> FunctionCost:
    """The function's cost from its calls, or the shipped default when there are too few."""
    if len(durations) < MIN_SAMPLES:
        return default_cost(function, memory_mb, connections)
    return FunctionCost(
        function,
        nearest_rank(durations, 50),
        nearest_rank(durations, 95),
        len(durations),
        memory_mb,
        connections,
    )


def costs_by_function(
    durations_by_state: Mapping[str, list[float]], state_functions: Mapping[str, str]
) -> dict[str, list[float]]:
    """The durations of each function, gathered from the states that call it."""
    found: dict[str, list[float]] = defaultdict(list)
    for state, durations in durations_by_state.items():
        function = state_functions.get(state)
        if function is not None:
            found[function].extend(durations)
    return dict(found)


def busy_rate(
    db: sa.Engine,
    done_state: str,
    slots: int,
    since_seconds: float = 7 * 86400,
    now: float | None = None,
) -> tuple[float, float] | None:
    """What the machine finished while every worker was busy: (photos/s, busy seconds).

    A photo is done when ``done_state`` succeeds. While at least ``slots`` calls are under way the
    workers are saturated, and the photos done per second of that time are the machine's real
    rate, whatever else shares its cores. None when the history has no such time.
    """
    rows = _task_events(db, since_seconds, now)
    under_way: set[tuple[str, str]] = set()
    busy = 0.0
    done = 0
    last = None
    for execution, state, kind, at in rows:
        if state is None:
            continue
        saturated = len(under_way) >= slots
        if saturated and last is not None:
            busy += at - last
        last = at
        if kind in _SCHEDULED:
            under_way.add((execution, state))
            continue
        under_way.discard((execution, state))
        if saturated and kind in _SUCCEEDED and state == done_state:
            done += 1
    if busy <= 0 or done == 0:
        return None
    return done / busy, busy
