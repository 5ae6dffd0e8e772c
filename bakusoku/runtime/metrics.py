"""Invocation counters per function (Lambda's CloudWatch metrics, kept in memory)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

# Percentiles are taken over the most recent invocations only, so memory stays bounded.
_DURATION_WINDOW = 4096


@dataclass(frozen=True)
class FunctionMetrics:
    """A snapshot for one function (or the sum over all, in ``RuntimeMetrics.totals``)."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    timeouts: int = 0
    crashes: int = 0
    duration_ms_total: float = 0.0
    duration_ms_max: float = 0.0
    duration_ms_p50: float = 0.0
    duration_ms_p99: float = 0.0
    init_duration_ms_total: float = 0.0
    concurrent_executions: int = 0
    max_concurrent_executions: int = 0
    environments: int = 0

    @property
    def duration_ms_avg(self) -> float:
        return self.duration_ms_total / self.invocations if self.invocations else 0.0


@dataclass(frozen=True)
class RuntimeMetrics:
    """What ``FunctionRuntime.metrics()`` returns: per function, and totals."""

    functions: Mapping[str, FunctionMetrics]
    totals: FunctionMetrics


@dataclass
class Counters:
    """Mutable counters of one function; the runtime updates them under its lock."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    timeouts: int = 0
    crashes: int = 0
    duration_ms_total: float = 0.0
    duration_ms_max: float = 0.0
    init_duration_ms_total: float = 0.0
    max_concurrent_executions: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=_DURATION_WINDOW))

    def record(self, duration_ms: float) -> None:
        self.invocations += 1
        self.duration_ms_total += duration_ms
        self.duration_ms_max = max(self.duration_ms_max, duration_ms)
        self.recent.append(duration_ms)

    def snapshot(self, *, concurrent: int, environments: int) -> FunctionMetrics:
        ordered = sorted(self.recent)
        return FunctionMetrics(
            invocations=self.invocations,
            errors=self.errors,
            throttles=self.throttles,
            cold_starts=self.cold_starts,
            timeouts=self.timeouts,
            crashes=self.crashes,
            duration_ms_total=self.duration_ms_total,
            duration_ms_max=self.duration_ms_max,
            duration_ms_p50=_percentile(ordered, 0.50),
            duration_ms_p99=_percentile(ordered, 0.99),
            init_duration_ms_total=self.init_duration_ms_total,
            concurrent_executions=concurrent,
            max_concurrent_executions=self.max_concurrent_executions,
            environments=environments,
        )


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def total(snapshots: Mapping[str, FunctionMetrics]) -> FunctionMetrics:
    """Sum counters; maxima and percentiles are the worst of the functions'."""
    values = list(snapshots.values())
    return FunctionMetrics(
        invocations=sum(m.invocations for m in values),
        errors=sum(m.errors for m in values),
        throttles=sum(m.throttles for m in values),
        cold_starts=sum(m.cold_starts for m in values),
        timeouts=sum(m.timeouts for m in values),
        crashes=sum(m.crashes for m in values),
        duration_ms_total=sum(m.duration_ms_total for m in values),
        duration_ms_max=max((m.duration_ms_max for m in values), default=0.0),
        duration_ms_p50=max((m.duration_ms_p50 for m in values), default=0.0),
        duration_ms_p99=max((m.duration_ms_p99 for m in values), default=0.0),
        init_duration_ms_total=sum(m.init_duration_ms_total for m in values),
        concurrent_executions=sum(m.concurrent_executions for m in values),
        max_concurrent_executions=sum(m.max_concurrent_executions for m in values),
        environments=sum(m.environments for m in values),
    )
