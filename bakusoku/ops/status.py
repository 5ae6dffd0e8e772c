"""Status at a glance: photos by status, running executions, failure rate, latency, slowest state."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import photos
from bakusoku.ops.timeline import build_timeline
from bakusoku.workflow.history import event_from_row
from bakusoku.workflow.tables import execution_events, executions

_WINDOWS = {"last_hour": 3600.0, "last_day": 86400.0}
_FAILED = ("FAILED", "TIMED_OUT")


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 3)


def status_report(db: sa.Engine, *, now: float | None = None, sample: int = 200) -> dict[str, Any]:
    """The numbers ``bakusoku status`` prints and ``GET /v1/status`` returns."""
    now = time.time() if now is None else now
    report: dict[str, Any] = {"generated_at": now, "photos": {}, "executions": {}}
    with db.connect() as conn:
        for label, seconds in _WINDOWS.items():
            rows = conn.execute(
                sa.select(photos.c.status, sa.func.count())
                .where(photos.c.created_at >= now - seconds)
                .group_by(photos.c.status)
            ).all()
            report["photos"][label] = {status: int(n) for status, n in rows}
            ended = conn.execute(
                sa.select(executions.c.status, sa.func.count())
                .where(executions.c.stopped_at >= now - seconds)
                .group_by(executions.c.status)
            ).all()
            counts = {status: int(n) for status, n in ended}
            total = sum(counts.values())
            failed = sum(counts.get(s, 0) for s in _FAILED)
            report["executions"][label] = {
                "ended": counts,
                "failure_rate": round(failed / total, 4) if total else 0.0,
            }
        report["executions"]["running"] = int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(executions)
                .where(executions.c.status == "RUNNING")
            ).scalar_one()
        )
        ready = conn.execute(
            sa.select(photos.c.created_at, photos.c.updated_at)
            .where(photos.c.status == "ready", photos.c.updated_at >= now - _WINDOWS["last_day"])
            .order_by(photos.c.updated_at.desc())
            .limit(10_000)
        ).all()
        latencies = [float(r.updated_at - r.created_at) for r in ready]
        report["upload_to_ready_seconds"] = {
            "count": len(latencies),
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
        }
        names = (
            conn.execute(
                sa.select(executions.c.name)
                .where(executions.c.stopped_at >= now - _WINDOWS["last_hour"])
                .order_by(executions.c.stopped_at.desc())
                .limit(sample)
            )
            .scalars()
            .all()
        )
        events = conn.execute(
            sa.select(execution_events)
            .where(execution_events.c.execution_name.in_(names))
            .order_by(execution_events.c.execution_name, execution_events.c.event_id)
        ).all()
    by_execution: dict[str, list[Any]] = defaultdict(list)
    for row in events:
        by_execution[row.execution_name].append(event_from_row(row))
    durations: dict[str, list[float]] = defaultdict(list)
    for history in by_execution.values():
        for visit in build_timeline(history).states:
            if visit.duration is not None and visit.type != "ParallelStateEntered":
                durations[visit.name].append(visit.duration)
    slowest = None
    if durations:
        name, values = max(durations.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
        slowest = {
            "state": name,
            "mean_seconds": round(sum(values) / len(values), 3),
            "p95_seconds": percentile(values, 0.95),
            "samples": len(values),
        }
    report["slowest_state_last_hour"] = slowest
    return report
