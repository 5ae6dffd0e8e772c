"""The panels of bakusoku's operations dashboard: what each shows, as PromQL over the metrics of
``/metrics`` (``ops.metrics``) and, where AWS measures the same thing, as CloudWatch metrics.

This list is the one description of the dashboard: ``ops.dashboards.grafana`` draws it for
Grafana (the shipped ``grafana.json``), ``deploy.monitoring`` draws the CloudWatch dashboard of
a stack from the panels' :class:`CloudWatchMetric` entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Grafana's range variable: at least four scrape intervals, whatever the step.
RATE = "$__rate_interval"

# The CloudWatch dimension a metric is drawn for: one line per resource of that kind in the stack.
Dimension = Literal["StateMachineArn", "FunctionName", "QueueName", "DBInstanceIdentifier"]


@dataclass(frozen=True)
class Query:
    """One PromQL expression of a panel and the legend of its series."""

    expr: str
    legend: str


@dataclass(frozen=True)
class CloudWatchMetric:
    """The same measure on AWS: a metric drawn for every resource of ``dimension`` in the stack."""

    namespace: str
    name: str
    dimension: Dimension
    stat: str  # Sum, Maximum, p95, ...
    label: str  # the line's label; "{resource}" is replaced by the resource's name


@dataclass(frozen=True)
class Panel:
    """One graph of the dashboard."""

    title: str
    description: str
    unit: str  # Grafana's unit id (s, ops, percentunit, short); CloudWatch draws plain numbers
    queries: tuple[Query, ...]
    cloudwatch: tuple[CloudWatchMetric, ...] = ()


def _quantile(q: float, metric: str, by: str = "") -> str:
    labels = ", ".join(filter(None, ["le", by]))
    return f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket[{RATE}])))"


def _states(name: str, label: str) -> CloudWatchMetric:
    return CloudWatchMetric("AWS/States", name, "StateMachineArn", "Sum", label)


def _lambda(name: str, stat: str, label: str) -> CloudWatchMetric:
    return CloudWatchMetric("AWS/Lambda", name, "FunctionName", stat, label)


PANELS: tuple[Panel, ...] = (
    Panel(
        "Uploads",
        "Presigned uploads the API granted, per second.",
        "ops",
        (Query(f"sum(rate(bakusoku_uploads_total[{RATE}]))", "uploads"),),
    ),
    Panel(
        "Executions by status",
        "Pipeline runs that ended, per second, by final status.",
        "ops",
        (
            Query(
                f"sum by (status) (rate(bakusoku_executions_total[{RATE}]))",
                "{{status}}",
            ),
        ),
        (
            _states("ExecutionsSucceeded", "succeeded"),
            _states("ExecutionsFailed", "failed"),
            _states("ExecutionsTimedOut", "timed out"),
            _states("ExecutionsAborted", "aborted"),
        ),
    ),
    Panel(
        "Failure rate by error code",
        "Share of ended runs that failed, by the catalogue's error code.",
        "percentunit",
        (
            Query(
                f"sum by (error_code) (rate(bakusoku_execution_failures_total[{RATE}]))"
                f" / ignoring (error_code) group_left"
                f" sum(rate(bakusoku_executions_total[{RATE}]))",
                "{{error_code}}",
            ),
        ),
    ),
    Panel(
        "Upload to ready",
        "From the upload's object-created event to the end of its successful run.",
        "s",
        (
            Query(_quantile(0.5, "bakusoku_upload_to_ready_seconds"), "p50"),
            Query(_quantile(0.95, "bakusoku_upload_to_ready_seconds"), "p95"),
        ),
        (
            CloudWatchMetric("AWS/States", "ExecutionTime", "StateMachineArn", "p50", "run p50"),
            CloudWatchMetric("AWS/States", "ExecutionTime", "StateMachineArn", "p95", "run p95"),
        ),
    ),
    Panel(
        "State durations (p95)",
        "Time spent in each state, retries included; on AWS, each function's duration.",
        "s",
        (Query(_quantile(0.95, "bakusoku_state_duration_seconds", "state"), "{{state}}"),),
        (_lambda("Duration", "p95", "{resource} p95"),),
    ),
    Panel(
        "Worker pool",
        "Worker processes alive and busy per function, and busy workers over the limit.",
        "short",
        (
            Query("sum by (function) (bakusoku_workers)", "{{function}} alive"),
            Query("sum by (function) (bakusoku_workers_busy)", "{{function}} busy"),
            Query("bakusoku_worker_utilisation", "utilisation"),
        ),
        (_lambda("ConcurrentExecutions", "Maximum", "{resource}"),),
    ),
    Panel(
        "Function errors and throttles",
        "Task errors and invocations refused for lack of concurrency, per second.",
        "ops",
        (
            Query(
                f"sum by (function) (rate(bakusoku_task_errors_total[{RATE}]))",
                "{{function}} errors",
            ),
            Query(
                f"sum by (function) (rate(bakusoku_throttles_total[{RATE}]))",
                "{{function}} throttles",
            ),
        ),
        (
            _lambda("Errors", "Sum", "{resource} errors"),
            _lambda("Throttles", "Sum", "{resource} throttles"),
        ),
    ),
    Panel(
        "Outbox backlog",
        "Work waiting: upload events not yet dispatched, alerts not yet delivered; on AWS, "
        "messages in the dead-letter queues.",
        "short",
        (Query("sum by (queue) (bakusoku_queue_depth)", "{{queue}}"),),
        (
            CloudWatchMetric(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                "Maximum",
                "{resource}",
            ),
        ),
    ),
    Panel(
        "Database",
        "Connections checked out of the pool and the pool's size; errors per second.",
        "short",
        (
            Query("sum(bakusoku_db_pool_in_use)", "in use"),
            Query("sum(bakusoku_db_pool_size)", "pool size"),
            Query(f"sum(rate(bakusoku_database_errors_total[{RATE}]))", "errors/s"),
        ),
        (
            CloudWatchMetric(
                "AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "Maximum", "connections"
            ),
        ),
    ),
    Panel(
        "HTTP requests",
        "Requests the API answered, per second, by status.",
        "ops",
        (
            Query(
                f"sum by (status) (rate(bakusoku_http_requests_total[{RATE}]))",
                "{{status}}",
            ),
        ),
    ),
    Panel(
        "HTTP latency (p95)",
        "95th percentile of the API's answer time, per route.",
        "s",
        (Query(_quantile(0.95, "bakusoku_http_request_duration_seconds", "route"), "{{route}}"),),
    ),
)
