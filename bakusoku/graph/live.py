"""The live map: each edge's traffic over the last minutes, from what the system already records.

Nothing new is written for the map. The executions' history (``workflow.tables``) gives the state
machine's starts and ends, each state-to-state transition and each Task's call of its function
(scheduled to succeeded, failed or timed out, as ``LambdaFunction*`` or ``Task*`` events); the object-event outbox gives the bucket's events
and the rule's deliveries (stored to dispatched); the alert outbox gives the failure rule's
deliveries to the notifier; the API's recent requests (``bakusoku.ops.recent``, handed in by the
route) give the HTTP edge. Which edge a measurement belongs to is read from the nodes' ``attrs``,
so a state or rule added to the template is measured without a change here.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from bakusoku.db.schema import alert_outbox, object_events
from bakusoku.errors import BakusokuError
from bakusoku.graph.model import Edge, EdgeStats, Node, SystemGraph
from bakusoku.workflow.tables import execution_events, executions

WINDOWS = {"5m": 300, "60m": 3600}
_MAX_EXECUTIONS = 5000  # the most recent in the window; enough for a rate and a median
_CHUNK = 400
# A Task's call, as Step Functions records it for a Lambda ARN resource and for an integration.
_SCHEDULED = ("LambdaFunctionScheduled", "TaskScheduled")
_TASK_ENDS = {  # ending event → whether the call failed
    "LambdaFunctionSucceeded": False,
    "LambdaFunctionFailed": True,
    "LambdaFunctionTimedOut": True,
    "TaskSucceeded": False,
    "TaskFailed": True,
    "TaskTimedOut": True,
}
_ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")
_UNDELIVERED_AFTER = 60.0  # an event not dispatched after this long counts as a failed delivery


class UnknownWindowError(BakusokuError):
    """The window is not one the map measures; the message lists those it does."""

    code = "graph.unknown_window"


def window_seconds(window: str) -> int:
    """``5m`` → 300; only the windows the map offers."""
    try:
        return WINDOWS[window]
    except KeyError:
        raise UnknownWindowError(
            f"the window {window!r} is not measured; use one of {', '.join(WINDOWS)}"
        ) from None


class HttpRequest(Protocol):
    """One HTTP request the API answered (``bakusoku.ops.recent`` keeps the last hour's)."""

    @property
    def at(self) -> float: ...
    @property
    def status(self) -> int: ...
    @property
    def seconds(self) -> float: ...


@dataclass
class _Samples:
    """What happened along one edge: a duration per completion (None: no duration) and errors."""

    durations: list[float | None] = field(default_factory=list)
    errors: int = 0

    def add(self, duration: float | None, failed: bool = False) -> None:
        self.durations.append(duration)
        self.errors += failed

    def stats(self, window: float) -> EdgeStats:
        timed = [d for d in self.durations if d is not None]
        return EdgeStats(
            count=len(self.durations),
            per_minute=len(self.durations) * 60.0 / window,
            p50_ms=statistics.median(timed) * 1000 if timed else None,
            errors=self.errors,
        )


def edge_stats(
    db: sa.Engine,
    graph: SystemGraph,
    window: float,
    now: float | None = None,
    requests: Sequence[HttpRequest] = (),
) -> dict[str, EdgeStats]:
    """Every edge of ``graph`` that can be measured, by ``Edge.key``, over the last ``window`` s;
    ``requests`` are the HTTP requests the API answered (its edge is measured only with them)."""
    now = time.time() if now is None else now
    since = now - window
    nodes = {n.id: n for n in graph.nodes}
    with db.connect() as conn:
        runs = _recent_executions(conn, since)
        events = _events(conn, [r.name for r in runs], since)
        objects = _object_events(conn, since)
        alerts = _alerts(conn, since)
    answered = [r for r in requests if r.at >= since]
    records = _Records(
        graph,
        runs,
        _task_samples(events),
        _transitions(events),
        objects,
        alerts,
        answered,
        now,
        since,
    )
    measured = {
        edge.key: _measure(edge, nodes[edge.source], nodes[edge.target], records)
        for edge in graph.edges
    }
    return {key: found.stats(window) for key, found in measured.items() if found is not None}


@dataclass(frozen=True)
class _Records:
    """What the window holds, read once per map."""

    graph: SystemGraph
    runs: Sequence[_Run]
    tasks: Mapping[str, _Samples]
    transitions: Mapping[tuple[str, str], int]
    objects: Sequence[_ObjectEvent]
    alerts: Sequence[_Alert]
    requests: Sequence[HttpRequest]
    now: float
    since: float


def _measure(edge: Edge, source: Node, target: Node, r: _Records) -> _Samples | None:
    """The samples of ``edge``, or None when nothing records its traffic."""
    kinds = (source.kind, edge.kind, target.kind)
    if kinds == ("state", "invokes", "function"):
        return r.tasks.get(source.attrs.get("state", ""), _Samples())
    if (
        source.kind == "state"
        and target.kind == "state"
        and edge.kind in ("next", "choice", "catch")
    ):
        count = r.transitions.get((source.attrs["state"], target.attrs["state"]), 0)
        taken = _Samples([None] * count, count if edge.kind == "catch" else 0)
        return taken
    if kinds == ("state_machine", "starts", "state"):
        mine = [x for x in r.runs if _same_machine(x.machine, source) and x.started_at >= r.since]
        started = _Samples()
        for run in mine:
            duration = None if run.stopped_at is None else run.stopped_at - run.started_at
            started.add(duration, run.status in _ENDED_BADLY)
        return started
    if kinds == ("state_machine", "emits", "rule"):
        ended = _Samples()
        for run in r.runs:
            alerted = _same_machine(run.machine, source) and run.status in _ENDED_BADLY
            if alerted and run.stopped_at is not None and run.stopped_at >= r.since:
                ended.add(None)
        return ended
    if kinds == ("rule", "triggers", "function") and _fed_by(r.graph, source, "state_machine"):
        delivered = _Samples()
        for alert in r.alerts:
            took = None if alert.delivered_at is None else alert.delivered_at - alert.created_at
            delivered.add(took, alert.status == "failed")
        return delivered
    if kinds == ("rule", "triggers", "state_machine"):
        dispatched = _Samples()
        for event in r.objects:
            if event.dispatched_at is not None:
                dispatched.add(event.dispatched_at - event.created_at)
            elif r.now - event.created_at > _UNDELIVERED_AFTER:
                dispatched.add(None, failed=True)
        return dispatched
    if kinds == ("api", "triggers", "function"):
        if not r.requests:
            return None  # this host keeps no request log (the API on AWS: see X-Ray)
        served = _Samples()
        for request in r.requests:
            served.add(request.seconds, request.status >= 500)
        return served
    if kinds == ("prefix", "emits", "rule"):
        prefix = source.attrs.get("prefix", "")
        emitted = _Samples()
        for event in r.objects:
            if event.key.startswith(prefix):
                emitted.add(None)
        return emitted
    return None


def _same_machine(stored: str, node: Node) -> bool:
    """The engine records the machine's own name; the template prefixes it per stack."""
    return stored in (node.attrs.get("machine"), node.attrs.get("short"), node.label)


def _fed_by(graph: SystemGraph, rule: Node, kind: str) -> bool:
    ids = {n.id for n in graph.nodes if n.kind == kind}
    return any(e.target == rule.id and e.source in ids for e in graph.edges)


# ---- reading the records -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    name: str
    machine: str
    status: str
    started_at: float
    stopped_at: float | None


@dataclass(frozen=True)
class _Event:
    execution: str
    event_id: int
    type: str
    timestamp: float
    state: str | None


@dataclass(frozen=True)
class _ObjectEvent:
    key: str
    created_at: float
    dispatched_at: float | None


@dataclass(frozen=True)
class _Alert:
    status: str
    created_at: float
    delivered_at: float | None


def _recent_executions(conn: sa.Connection, since: float) -> list[_Run]:
    t = executions.c
    rows = conn.execute(
        sa.select(t.name, t.state_machine, t.status, t.started_at, t.stopped_at)
        .where(sa.or_(t.started_at >= since, t.stopped_at >= since, t.status == "RUNNING"))
        .order_by(t.started_at.desc())
        .limit(_MAX_EXECUTIONS)
    )
    return [_Run(r.name, r.state_machine, r.status, r.started_at, r.stopped_at) for r in rows]


def _events(conn: sa.Connection, names: Sequence[str], since: float) -> list[_Event]:
    t = execution_events.c
    found: list[_Event] = []
    for start in range(0, len(names), _CHUNK):
        rows = conn.execute(
            sa.select(t.execution_name, t.event_id, t.type, t.timestamp, t.state_name).where(
                t.execution_name.in_(names[start : start + _CHUNK]), t.timestamp >= since
            )
        )
        found.extend(_Event(r[0], r[1], r[2], r[3], r[4]) for r in rows)
    found.sort(key=lambda e: (e.execution, e.event_id))
    return found


def _object_events(conn: sa.Connection, since: float) -> list[_ObjectEvent]:
    t = object_events.c
    rows = conn.execute(
        sa.select(t.object_key, t.created_at, t.dispatched_at).where(t.created_at >= since)
    )
    return [_ObjectEvent(r[0], r[1], r[2]) for r in rows]


def _alerts(conn: sa.Connection, since: float) -> list[_Alert]:
    t = alert_outbox.c
    rows = conn.execute(
        sa.select(t.status, t.created_at, t.delivered_at).where(
            t.created_at >= since, t.status != "grouped"
        )
    )
    return [_Alert(r[0], r[1], r[2]) for r in rows]


def _task_samples(events: Iterable[_Event]) -> dict[str, _Samples]:
    """Each Task state's calls: scheduled to its end, by state name."""
    by_state: dict[str, _Samples] = defaultdict(_Samples)
    scheduled: dict[tuple[str, str], float] = {}
    for event in events:
        if event.state is None:
            continue
        key = (event.execution, event.state)
        if event.type in _SCHEDULED:
            scheduled[key] = event.timestamp
        elif event.type in _TASK_ENDS:
            began = scheduled.pop(key, None)
            took = None if began is None else event.timestamp - began
            by_state[event.state].add(took, _TASK_ENDS[event.type])
    return by_state


def _transitions(events: Iterable[_Event]) -> dict[tuple[str, str], int]:
    """How often each state was entered right after another one (a caught error leaves its
    state without a StateExited event, so the state entered last is the one left)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    current: dict[str, str] = {}
    for event in events:
        if event.state is None or not event.type.endswith("StateEntered"):
            continue
        previous = current.get(event.execution)
        if previous is not None and previous != event.state:
            counts[(previous, event.state)] += 1
        current[event.execution] = event.state
    return counts
