"""Prometheus metrics of one bakusoku process: counters fed by events, gauges read at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bakusoku.db.schema import alert_outbox, object_events
from bakusoku.ops.recent import RecentRequests
from bakusoku.ops.timeline import Timeline
from bakusoku.runtime import FunctionRuntime
from bakusoku.workflow.engine import ExecutionDescription
from bakusoku.workflow.tables import executions

log = logging.getLogger("bakusoku.ops.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_STATE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# A photo waits in the store's event queue and for a worker before its run starts: wider buckets.
_READY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)


class OpsMetrics:
    """The metrics of one process, in their own registry (tests may run several stacks)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.uploads = Counter(
            "bakusoku_uploads", "Presigned uploads granted by the API", registry=r
        )
        self.http_requests = Counter(
            "bakusoku_http_requests",
            "HTTP requests answered, by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "bakusoku_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=r,
        )
        self.executions = Counter(
            "bakusoku_executions", "Executions ended, by status", ["status"], registry=r
        )
        self.execution_duration = Histogram(
            "bakusoku_execution_duration_seconds",
            "Execution run time, start (or re-drive) to end",
            ["status"],
            buckets=_STATE_BUCKETS,
            registry=r,
        )
        self.state_duration = Histogram(
            "bakusoku_state_duration_seconds",
            "Time spent in each state, retries included",
            ["state"],
            buckets=_STATE_BUCKETS,
            registry=r,
        )
        self.task_retries = Counter(
            "bakusoku_task_retries",
            "Task attempts that failed and were tried again, by state and error",
            ["state", "error"],
            registry=r,
        )
        self.failures = Counter(
            "bakusoku_execution_failures",
            "Executions that ended failed, by error code and failed state",
            ["error_code", "state"],
            registry=r,
        )
        self.recent_requests = RecentRequests()  # the live map's window of HTTP requests
        self.upload_to_ready = Histogram(
            "bakusoku_upload_to_ready_seconds",
            "From the upload's object-created event to the end of its successful run",
            buckets=_READY_BUCKETS,
            registry=r,
        )
        self.database_errors = Counter(
            "bakusoku_database_errors",
            "Database statements or connections of this process that raised an error",
            registry=r,
        )
        self.alerts = Counter(
            "bakusoku_alerts_sent",
            "Alert deliveries, by channel, kind and outcome",
            ["channel", "kind", "outcome"],
            registry=r,
        )

    def record_execution(
        self,
        description: ExecutionDescription,
        timeline: Timeline,
        code: str | None,
        uploaded_at: float | None = None,
    ) -> None:
        """Count one ended execution; ``uploaded_at`` (epoch seconds) is its object's event time."""
        status = description.status
        self.executions.labels(status).inc()
        if timeline.ended is not None:
            self.execution_duration.labels(status).observe(
                max(0.0, timeline.ended - timeline.started)
            )
            if status == "SUCCEEDED" and uploaded_at is not None:
                self.upload_to_ready.observe(max(0.0, timeline.ended - uploaded_at))
        for visit in timeline.states:
            if visit.duration is not None:
                self.state_duration.labels(visit.name).observe(max(0.0, visit.duration))
            retried = visit.attempts[:-1] if visit.attempts else []
            for attempt in retried:
                if attempt.error:
                    self.task_retries.labels(visit.name, attempt.error).inc()
        if status != "SUCCEEDED":
            failed = timeline.failed_state
            self.failures.labels(code or "internal", failed.name if failed else "").inc()

    def record_delivery(self, channel: str, kind: str, ok: bool) -> None:
        self.alerts.labels(channel, kind, "delivered" if ok else "failed").inc()

    def watch(self, db: sa.Engine, runtime: FunctionRuntime | None) -> None:
        """Add the gauges read at scrape time (queues, workers, throttles, the DB pool) and count
        the errors ``db`` raises in this process."""
        self.registry.register(_LiveCollector(db, runtime))
        sa.event.listen(db, "handle_error", self._database_error)

    def _database_error(self, context: Any) -> None:
        self.database_errors.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector(Collector):
    def __init__(self, db: sa.Engine, runtime: FunctionRuntime | None) -> None:
        self.db = db
        self.runtime = runtime

    def describe(self) -> list[Any]:
        return []  # collected on demand; never read at registration

    def collect(self) -> Iterator[Any]:
        yield from _safely(self._database)
        yield from _safely(self._workers)
        yield from _safely(self._pool)

    def _database(self) -> Iterator[Any]:
        with self.db.connect() as conn:
            running_now = conn.execute(
                sa.select(sa.func.count())
                .select_from(executions)
                .where(executions.c.status == "RUNNING")
            ).scalar_one()
            events = conn.execute(
                sa.select(sa.func.count())
                .select_from(object_events)
                .where(object_events.c.dispatched_at.is_(None))
            ).scalar_one()
            alerts = conn.execute(
                sa.select(sa.func.count())
                .select_from(alert_outbox)
                .where(alert_outbox.c.status == "pending")
            ).scalar_one()
        running = GaugeMetricFamily(
            "bakusoku_executions_running", "Executions RUNNING now (all engines)"
        )
        running.add_metric([], int(running_now))
        yield running
        depth = GaugeMetricFamily(
            "bakusoku_queue_depth",
            "Work waiting: undelivered upload events, alerts",
            labels=["queue"],
        )
        depth.add_metric(["object_events"], int(events))
        depth.add_metric(["alerts"], int(alerts))
        yield depth

    def _workers(self) -> Iterator[Any]:
        if self.runtime is None:
            return
        snapshot = self.runtime.metrics()
        busy = GaugeMetricFamily(
            "bakusoku_workers_busy", "Worker processes running a task", labels=["function"]
        )
        envs = GaugeMetricFamily(
            "bakusoku_workers", "Worker processes alive (busy or idle)", labels=["function"]
        )
        throttles = CounterMetricFamily(
            "bakusoku_throttles", "Invocations refused for lack of concurrency", labels=["function"]
        )
        invocations = CounterMetricFamily(
            "bakusoku_task_invocations", "Task invocations", labels=["function"]
        )
        errors = CounterMetricFamily("bakusoku_task_errors", "Task errors", labels=["function"])
        cold = CounterMetricFamily(
            "bakusoku_cold_starts", "New worker processes started", labels=["function"]
        )
        for name, m in snapshot.functions.items():
            busy.add_metric([name], m.concurrent_executions)
            envs.add_metric([name], m.environments)
            throttles.add_metric([name], m.throttles)
            invocations.add_metric([name], m.invocations)
            errors.add_metric([name], m.errors)
            cold.add_metric([name], m.cold_starts)
        utilisation = GaugeMetricFamily(
            "bakusoku_worker_utilisation", "Busy worker processes over the concurrency limit (0-1)"
        )
        utilisation.add_metric(
            [], snapshot.totals.concurrent_executions / max(1, self.runtime.max_environments)
        )
        yield from (busy, envs, throttles, invocations, errors, cold, utilisation)

    def _pool(self) -> Iterator[Any]:
        pool = self.db.pool
        in_use = GaugeMetricFamily("bakusoku_db_pool_in_use", "Database connections checked out")
        size = GaugeMetricFamily("bakusoku_db_pool_size", "Database connections the pool keeps")
        checked_out = getattr(pool, "checkedout", None)
        pool_size = getattr(pool, "size", None)
        in_use.add_metric([], float(checked_out()) if callable(checked_out) else 0.0)
        size.add_metric([], float(pool_size()) if callable(pool_size) else 0.0)
        yield from (in_use, size)


def _safely(produce: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    try:
        yield from list(produce())
    except Exception:  # a scrape must not fail because one source is down
        log.warning("a metrics source failed during a scrape", exc_info=True)
