"""OpenTelemetry traces: one trace per photo, from the upload request to the last task.

The API request that granted the upload starts the trace; its W3C ``traceparent`` is kept on the
photo row. When the execution ends, its spans (the upload event, the execution, each state) are
written from the durable history with their real times, under that parent. Task spans are live:
they wrap each invocation and hand the worker process an X-Ray trace header (``Root`` is the trace
id, ``Parent`` the task span), so code in the worker continues the same trace. Trace ids carry
their start time in the first 32 bits, as X-Ray requires, so they are valid X-Ray ids on AWS.
Needs the ``otel`` extra (``pip install 'bakusoku[otel]'``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bakusoku import arns
from bakusoku.ops.timeline import Timeline

log = logging.getLogger("bakusoku.ops.tracing")

_forced_span_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "bakusoku_forced_span_id", default=None
)
_forced_trace_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "bakusoku_forced_trace_id", default=None
)
_propagator = TraceContextTextMapPropagator()


@dataclass(frozen=True)
class TaskSpan:
    """A live task span and its X-Ray header (``Root`` the trace, ``Parent`` this span)."""

    span: trace.Span
    trace_header: str


class XRayIdGenerator(IdGenerator):
    """Trace ids whose first 32 bits are the epoch seconds (X-Ray's format); ids can be forced."""

    def __init__(self) -> None:
        self._random = random.SystemRandom()

    def generate_span_id(self) -> int:
        forced = _forced_span_id.get()
        if forced is not None:
            return forced
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        forced = _forced_trace_id.get()
        if forced is not None:
            return forced
        return xray_trace_id(time.time(), self._random.getrandbits(96))

    def is_trace_id_random(self) -> bool:
        return False


def xray_trace_id(epoch: float, low96: int) -> int:
    return ((int(epoch) & 0xFFFFFFFF) << 96) | (low96 & ((1 << 96) - 1) or 1)


def derived_id(*parts: object, bits: int = 64) -> int:
    """A stable id from ``parts``: the same execution and state always get the same span id."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[: bits // 8], "big") or 1


def xray_header(trace_id: int, span_id: int, sampled: bool = True) -> str:
    """The ``X-Amzn-Trace-Id`` form of a span context, as Lambda passes it to a function."""
    hex_id = f"{trace_id:032x}"
    return f"Root=1-{hex_id[:8]}-{hex_id[8:]};Parent={span_id:016x};Sampled={int(sampled)}"


def parse_xray_header(header: str) -> tuple[int, int] | None:
    """``(trace_id, parent_span_id)`` from an X-Ray header, or None."""
    fields = dict(p.split("=", 1) for p in header.split(";") if "=" in p)
    root, parent = fields.get("Root", ""), fields.get("Parent", "")
    parts = root.split("-")
    if len(parts) != 3 or not parent:
        return None
    try:
        return int(parts[1] + parts[2], 16), int(parent, 16)
    except ValueError:
        return None


@contextlib.contextmanager
def _ids(trace_id: int | None = None, span_id: int | None = None) -> Iterator[None]:
    t1 = _forced_trace_id.set(trace_id)
    t2 = _forced_span_id.set(span_id)
    try:
        yield
    finally:
        _forced_span_id.reset(t2)
        _forced_trace_id.reset(t1)


def _ns(epoch: float) -> int:
    return int(epoch * 1e9)


class Tracing:
    """Makes bakusoku's spans with its own tracer provider."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("bakusoku")
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, service: str, stage: str, processors: list[SpanProcessor] | None = None
    ) -> Tracing:
        provider = TracerProvider(
            resource=Resource.create(
                {"service.name": service, "deployment.environment.name": stage}
            ),
            id_generator=XRayIdGenerator(),
        )
        for processor in processors or []:
            provider.add_span_processor(processor)
        return cls(provider)

    @classmethod
    def otlp(cls, service: str, stage: str, endpoint: str) -> Tracing:
        """Export over OTLP/HTTP to ``endpoint`` (a collector, Jaeger, the ADOT collector)."""
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        url = endpoint.rstrip("/")
        if not url.endswith("/v1/traces"):
            url += "/v1/traces"
        exporter: SpanExporter = OTLPSpanExporter(endpoint=url)
        return cls.create(service, stage, [BatchSpanProcessor(exporter)])

    def shutdown(self) -> None:
        self.provider.shutdown()

    # ---- API requests ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def request_span(self, method: str, path: str, headers: dict[str, str]) -> Iterator[trace.Span]:
        parent = _propagator.extract(headers)
        with self.tracer.start_as_current_span(
            f"{method} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:
            yield span

    @staticmethod
    def traceparent(span: trace.Span) -> str:
        carrier: dict[str, str] = {}
        _propagator.inject(carrier, trace.set_span_in_context(span))
        return carrier.get("traceparent", "")

    # ---- executions -----------------------------------------------------------------------------

    def execution_ids(
        self, name: str, started_at: float, redrive_count: int, trace_parent: str | None
    ) -> tuple[int, int | None]:
        """``(trace id, parent span id)`` of an execution: the upload's trace, else its own."""
        parsed = _parse_traceparent(trace_parent)
        if parsed is not None:
            return parsed
        return xray_trace_id(started_at, derived_id("trace", name, bits=96)), None

    @staticmethod
    def state_span_id(name: str, redrive_count: int, state: str) -> int:
        return derived_id("state", name, redrive_count, state)

    @staticmethod
    def execution_span_id(name: str, redrive_count: int) -> int:
        return derived_id("execution", name, redrive_count)

    @contextlib.contextmanager
    def task_span(
        self,
        *,
        trace_id: int,
        execution: str,
        redrive_count: int,
        state: str,
        resource: str,
    ) -> Iterator[TaskSpan]:
        """A live span around one task invocation, with the X-Ray header to hand the worker."""
        parent = SpanContext(
            trace_id,
            self.state_span_id(execution, redrive_count, state),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        context = trace.set_span_in_context(trace.NonRecordingSpan(parent))
        span = self.tracer.start_span(
            f"task {state}",
            context=context,
            kind=SpanKind.CLIENT,
            attributes={
                "faas.invoked_name": arns.name_of(resource),
                "aws.lambda.invoked_arn": resource,
                "bakusoku.execution": execution,
                "bakusoku.state": state,
            },
        )
        header = xray_header(trace_id, span.get_span_context().span_id)
        try:
            yield TaskSpan(span, header)
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            error = getattr(exc, "error", None)
            if error:
                span.set_attribute("error.type", str(error))
            raise
        finally:
            span.end()

    def record_execution(
        self,
        *,
        name: str,
        state_machine: str,
        status: str,
        redrive_count: int,
        timeline: Timeline,
        trace_id: int,
        parent_span_id: int | None,
        event_time: float | None,
        attributes: dict[str, Any],
    ) -> int:
        """Write the spans of one finished run from its timeline; returns the trace id."""
        with self._lock:
            parent_ctx = None
            if parent_span_id is not None:
                remote = SpanContext(
                    trace_id,
                    parent_span_id,
                    is_remote=True,
                    trace_flags=TraceFlags(TraceFlags.SAMPLED),
                )
                parent_ctx = trace.set_span_in_context(trace.NonRecordingSpan(remote))
            end = timeline.ended or time.time()
            if event_time is not None and redrive_count == 0 and event_time <= timeline.started:
                with _ids(trace_id=trace_id):
                    upload = self.tracer.start_span(
                        "upload event ObjectCreated",
                        context=parent_ctx,
                        kind=SpanKind.CONSUMER,
                        start_time=_ns(event_time),
                        attributes={k: v for k, v in attributes.items() if v is not None},
                    )
                upload.end(end_time=_ns(timeline.started))
                parent_ctx = trace.set_span_in_context(upload)
            with _ids(trace_id=trace_id, span_id=self.execution_span_id(name, redrive_count)):
                execution = self.tracer.start_span(
                    f"execution {state_machine}",
                    context=parent_ctx,
                    start_time=_ns(timeline.started),
                    attributes={
                        "bakusoku.execution": name,
                        "bakusoku.status": status,
                        "bakusoku.redrive_count": redrive_count,
                        **{k: v for k, v in attributes.items() if v is not None},
                    },
                )
            if status != "SUCCEEDED":
                execution.set_status(Status(StatusCode.ERROR, timeline.error or status))
            spans: list[trace.Span] = []
            seen: set[str] = set()
            for visit in timeline.states:
                parent_span = execution if visit.parent is None else spans[visit.parent]
                first = visit.name not in seen
                seen.add(visit.name)
                forced = self.state_span_id(name, redrive_count, visit.name) if first else None
                with _ids(trace_id=trace_id, span_id=forced):
                    span = self.tracer.start_span(
                        f"state {visit.name}",
                        context=trace.set_span_in_context(parent_span),
                        start_time=_ns(visit.entered),
                        attributes={
                            "bakusoku.state": visit.name,
                            "bakusoku.state_type": visit.type.removesuffix("StateEntered"),
                            "bakusoku.attempts": len(visit.attempts),
                            "bakusoku.retries": visit.retries,
                        },
                    )
                for attempt in visit.failed_attempts:
                    span.add_event(
                        "attempt failed",
                        {
                            "error.type": attempt.error or "",
                            "bakusoku.cause": (attempt.cause or "")[:500],
                        },
                        timestamp=_ns(attempt.ended or visit.entered),
                    )
                if visit.attempts and visit.attempts[-1].error:
                    span.set_status(Status(StatusCode.ERROR, visit.attempts[-1].error))
                spans.append(span)
            for visit, span in reversed(list(zip(timeline.states, spans, strict=True))):
                span.end(end_time=_ns(visit.exited or end))
            execution.end(end_time=_ns(end))
        return trace_id


def _parse_traceparent(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    parts = value.split("-")
    if len(parts) != 4:
        return None
    try:
        trace_id, span_id = int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        return None
    return (trace_id, span_id) if trace_id and span_id else None
