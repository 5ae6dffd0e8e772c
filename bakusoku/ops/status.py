"""Status at a glance: photos by status, running executions, failure rate, latency, slowest state.

``status_report`` reads the embedded engine's history tables; the parts that read only the photo
rows (``photo_counts``, ``upload_to_ready``) and the one that reads histories (``slowest_state``)
serve a backend that keeps executions elsewhere (Step Functions) as well.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from bakusoku.db.invocations import FAILED
from bakusoku.db.schema import async_invocations, photos
from bakusoku.ops.timeline import build_timeline
from bakusoku.workflow.history import HistoryEvent, event_from_row
from bakusoku.workflow.tables import execution_events, executions

WINDOWS = {"last_hour": 3600.0, "last_day": 86400.0}
FAILED_STATUSES = ("FAILED", "TIMED_OUT")


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 3)


def ended_counts(counts: dict[str, int]) -> dict[str, Any]:
    """One window's executions by end status, and the share that failed or timed out."""
    total = sum(counts.values())
    failed = sum(counts.get(s, 0) for s in FAILED_STATUSES)
    return {"ended": counts, "failure_rate": round(failed / total, 4) if total else 0.0}


def photo_counts(db: sa.Engine, now: float) -> dict[str, dict[str, int]]:
    """Photos created in each window, by status."""
    counts: dict[str, dict[str, int]] = {}
    with db.connect() as conn:
        for label, seconds in WINDOWS.items():
            rows = conn.execute(
                sa.select(photos.c.status, sa.func.count())
                .where(photos.c.created_at >= now - seconds)
                .group_by(photos.c.status)
            ).all()
            counts[label] = {status: int(n) for status, n in rows}
    return counts


def upload_to_ready(db: sa.Engine, now: float) -> dict[str, Any]:
    """Seconds from upload to ready of the photos that became ready in the last day."""
    with db.connect() as conn:
        ready = conn.execute(
            sa.select(photos.c.created_at, photos.c.updated_at)
            .where(photos.c.status == "ready", photos.c.updated_at >= now - WINDOWS["last_day"])
            .order_by(photos.c.updated_at.desc())
            .limit(10_000)
        ).all()
    latencies = [float(r.updated_at - r.created_at) for r in ready]
    return {
        "count": len(latencies),
        "p50": percentile(latencies, 0.50),
        "p95": percentile(latencies, 0.95),
    }


def slowest_state(histories: Iterable[Sequence[HistoryEvent]]) -> dict[str, Any] | None:
    """The state with the longest mean duration over ``histories`` (Parallel states aside)."""
    durations: dict[str, list[float]] = defaultdict(list)
    for history in histories:
        for visit in build_timeline(history).states:
            if visit.duration is not None and visit.type != "ParallelStateEntered":
                durations[visit.name].append(visit.duration)
    if not durations:
        return None
    name, values = max(durations.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
    return {
        "state": name,
        "mean_seconds": round(sum(values) / len(values), 3),
        "p95_seconds": percentile(values, 0.95),
        "samples": len(values),
    }


def status_report(db: sa.Engine, *, now: float | None = None, sample: int = 200) -> dict[str, Any]:
    """The numbers ``bakusoku status`` prints and ``GET /v1/status`` returns."""
    now = time.time() if now is None else now
    report: dict[str, Any] = {
        "generated_at": now,
        "photos": photo_counts(db, now),
        "executions": {},
    }
    with db.connect() as conn:
        for label, seconds in WINDOWS.items():
            ended = conn.execute(
                sa.select(executions.c.status, sa.func.count())
                .where(executions.c.stopped_at >= now - seconds)
                .group_by(executions.c.status)
            ).all()
            report["executions"][label] = ended_counts({status: int(n) for status, n in ended})
        report["executions"]["running"] = int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(executions)
                .where(executions.c.status == "RUNNING")
            ).scalar_one()
        )
        names = (
            conn.execute(
                sa.select(executions.c.name)
                .where(executions.c.stopped_at >= now - WINDOWS["last_hour"])
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
    by_execution: dict[str, list[HistoryEvent]] = defaultdict(list)
    for row in events:
        by_execution[row.execution_name].append(event_from_row(row))
    report["upload_to_ready_seconds"] = upload_to_ready(db, now)
    report["slowest_state_last_hour"] = slowest_state(by_execution.values())
    report["dead_letters"] = dead_letters(db)
    return report


def dead_letters(db: sa.Engine) -> dict[str, int]:
    """The declared functions' asynchronous events that failed every try, by function (read
    with ``bakusoku functions failed``)."""
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(async_invocations.c.function, sa.func.count())
            .where(async_invocations.c.status == FAILED)
            .group_by(async_invocations.c.function)
        ).all()
    return {function: int(n) for function, n in sorted(rows)}
