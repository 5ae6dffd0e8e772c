"""What each function costs per call, measured from the executions' history.

Every Task's call is in the history: ``LambdaFunctionScheduled`` (or ``TaskScheduled``) and its
``...Succeeded`` end, with the state's name. The median and p95 of those durations per state, over
the last ``since_seconds``, are the measured cost of the function the state calls. A history
measured during a spike includes the wait for a free worker, so the plan it gives errs on the
generous side.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping

import sqlalchemy as sa

from bakusoku.races.capacity import MIN_SAMPLES, FunctionCost, default_cost
from bakusoku.workflow.tables import execution_events

_SCHEDULED = ("LambdaFunctionScheduled", "TaskScheduled")
_SUCCEEDED = ("LambdaFunctionSucceeded", "TaskSucceeded")
_MAX_EVENTS = 200_000  # the most recent calls: plenty for a median and a p95


def task_durations(
    db: sa.Engine, since_seconds: float = 7 * 86400, now: float | None = None
) -> dict[str, list[float]]:
    """Seconds from scheduled to succeeded of each Task state's calls, by state name."""
    now = time.time() if now is None else now
    t = execution_events.c
    query = (
        sa.select(t.execution_name, t.state_name, t.type, t.timestamp)
        .where(t.type.in_(_SCHEDULED + _SUCCEEDED), t.timestamp >= now - since_seconds)
        .order_by(t.timestamp.desc())
        .limit(_MAX_EVENTS)
    )
    with db.connect() as conn:
        rows = list(conn.execute(query))
    rows.reverse()  # oldest first, so a call's schedule comes before its end
    scheduled: dict[tuple[str, str], float] = {}
    durations: dict[str, list[float]] = defaultdict(list)
    for execution, state, kind, at in rows:
        if state is None:
            continue
        if kind in _SCHEDULED:
            scheduled[(execution, state)] = at
        else:
            began = scheduled.pop((execution, state), None)
            if began is not None:
                durations[state].append(at - began)
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
