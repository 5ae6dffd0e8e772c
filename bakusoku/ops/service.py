"""Operations of one deployment, wired together: history, alerts, metrics, traces, logs."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.invocations import AsyncInvocation
from bakusoku.db.photos import PhotoRepository
from bakusoku.events import object_created_records
from bakusoku.ops.alerts import AlertOutbox, AlertSettings
from bakusoku.ops.history import ExecutionHistory
from bakusoku.ops.invoker import ExecutionFactsCache, OpsInvoker
from bakusoku.ops.logs import Redactor, configure_logging, log_context
from bakusoku.ops.messages import (
    ALERTED_STATUSES,
    MAX_CAUSE,
    DeadLetter,
    execution_link,
    failed_execution,
)
from bakusoku.ops.metrics import OpsMetrics
from bakusoku.ops.middleware import HoldsSecret, OpsMiddleware
from bakusoku.ops.timeline import Timeline
from bakusoku.workflow.engine import ExecutionDescription, WorkflowEngine
from bakusoku.workflow.invoker import TaskInvoker

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bakusoku.ops.tracing import Tracing

log = logging.getLogger("bakusoku.ops")

PRUNE_EVERY_SECONDS = 3600.0


class Operations:
    """Build with the settings and database; ``attach`` the engine; ``install`` on the API app."""

    def __init__(
        self,
        settings: Settings,
        db: sa.Engine,
        *,
        tracing: Tracing | None = None,
        configure_logs: bool = True,
    ) -> None:
        self.settings = settings
        self.db = db
        self.photos = PhotoRepository(db)  # the upload's trace is kept on its photo
        self.redactor = Redactor(
            [
                settings.slack_webhook_url,
                settings.alert_webhook_url,
                settings.alert_webhook_secret,
                settings.secret_access_key,
                getattr(settings, "admin_token", ""),
            ]
        )
        if configure_logs:
            configure_logging(self.redactor, json_lines=settings.log_format != "text")
        self.metrics = OpsMetrics()
        self.tracing = tracing if tracing is not None else self._tracing_from(settings)
        self.facts = ExecutionFactsCache(db, settings.upload_prefix)
        self.alerts = AlertOutbox(
            db,
            AlertSettings(
                service=settings.service_name,
                stage=settings.stage,
                api_url=settings.api_url,
                slack_webhook_url=settings.slack_webhook_url,
                webhook_url=settings.alert_webhook_url,
                webhook_secret=settings.alert_webhook_secret,
                burst_threshold=max(1, settings.alert_burst_threshold),
            ),
        )
        self.alerts.on_delivery = self.metrics.record_delivery
        self.history: ExecutionHistory | None = None
        self.workflow: WorkflowEngine | None = None
        self._stopping = threading.Event()
        self._pruner: threading.Thread | None = None

    @staticmethod
    def _tracing_from(settings: Settings) -> Tracing | None:
        if not settings.otlp_endpoint:
            return None
        try:
            from bakusoku.ops.tracing import Tracing
        except ImportError:
            log.warning(
                "otlp_endpoint is set but OpenTelemetry is not installed; "
                "install bakusoku[otel] to export traces"
            )
            return None
        return Tracing.otlp(settings.service_name, settings.stage, settings.otlp_endpoint)

    # ---- wiring ---------------------------------------------------------------------------------

    def invoker(self, inner: TaskInvoker) -> TaskInvoker:
        return OpsInvoker(inner, self.facts, self.tracing)

    def attach(self, workflow: WorkflowEngine, runtime: Any = None) -> None:
        self.workflow = workflow
        self.history = ExecutionHistory(self.db, workflow, self.settings.upload_prefix)
        self.metrics.watch(self.db, runtime)
        workflow.add_listener(self.on_execution_end)

    def install(self, app: FastAPI, holds_secret: HoldsSecret) -> None:
        """Add the middleware and make this object reachable by the operations routes.

        ``holds_secret`` tells a client's request id that holds a credential, which is never
        taken (``bakusoku.api.quoting.holds_secret``)."""
        app.state.ops = self
        app.add_middleware(
            OpsMiddleware,
            metrics=self.metrics,
            tracing=self.tracing,
            on_upload=self.record_upload,
            holds_secret=holds_secret,
        )

    def start(self) -> None:
        self.alerts.start()
        if self.settings.history_retention_days > 0 and self._pruner is None:
            self._stopping.clear()
            self._pruner = threading.Thread(
                target=self._prune_loop, name="history-retention", daemon=True
            )
            self._pruner.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._pruner is not None:
            self._pruner.join(5)
            self._pruner = None
        self.alerts.stop()
        if self.tracing is not None:
            self.tracing.shutdown()

    # ---- events ---------------------------------------------------------------------------------

    def record_upload(self, photo_id: str, traceparent: str | None) -> None:
        if traceparent:
            self.photos.record_trace_parent(photo_id, traceparent)

    def on_execution_end(self, description: ExecutionDescription) -> None:
        """Annotate, count, trace and alert one ended execution; never raises."""
        assert self.history is not None
        self.facts.forget(description.name)
        try:
            timeline = self.history.timeline(description.name)
            values = self.history.annotate(description, timeline)
        except Exception:
            log.exception("could not annotate execution %s", description.name)
            return
        with log_context(photo_id=values["photo_id"], execution_name=description.name):
            for step in (self._count, self._trace, self._alert):
                try:
                    step(description, timeline, values)
                except Exception:
                    log.exception(
                        "operations step %s failed for %s", step.__name__, description.name
                    )

    def on_dead_letter(self, invocation: AsyncInvocation) -> None:
        """Alert a declared function's event that failed every try; never raises (the dead
        letter is kept whatever happens to its alert)."""
        if not self.alerts.settings.channels:
            return
        letter = DeadLetter(
            service=self.settings.service_name,
            stage=self.settings.stage,
            function=invocation.function,
            source=invocation.source,
            key=invocation.key,
            error_type=invocation.error_type or "",
            error_message=self.redactor.redact(invocation.error_message or "")[:MAX_CAUSE],
            attempts=invocation.attempts,
            at=invocation.updated_at,
        )
        try:
            self.alerts.record_dead_letter(letter)
        except Exception:
            log.exception("could not queue the alert of dead letter %s", invocation.key)

    def _count(
        self, description: ExecutionDescription, timeline: Timeline, values: dict[str, Any]
    ) -> None:
        self.metrics.record_execution(
            description, timeline, values["error_code"], _uploaded_at(description)
        )
        if description.status != "SUCCEEDED":
            log.warning(
                "execution %s ended %s in state %s: %s",
                description.name,
                description.status,
                values["failed_state"],
                values["error_code"],
            )

    def _trace(
        self, description: ExecutionDescription, timeline: Timeline, values: dict[str, Any]
    ) -> None:
        if self.tracing is None:
            return
        facts = self.facts.get(description.name)
        self.facts.forget(description.name)
        if facts is None:
            return
        trace_id, parent = self.tracing.execution_ids(
            description.name, facts.started_at, description.redrive_count, facts.trace_parent
        )
        event_time = _uploaded_at(description)
        self.tracing.record_execution(
            name=description.name,
            state_machine=description.state_machine_name,
            status=description.status,
            redrive_count=description.redrive_count,
            timeline=timeline,
            trace_id=trace_id,
            parent_span_id=parent,
            event_time=event_time,
            attributes={
                "bakusoku.photo_id": values["photo_id"],
                "bakusoku.album": values["album"],
                "bakusoku.error_code": values["error_code"],
                "bakusoku.failed_state": values["failed_state"],
            },
        )

    def _alert(
        self, description: ExecutionDescription, timeline: Timeline, values: dict[str, Any]
    ) -> None:
        if description.status not in ALERTED_STATUSES or not self.alerts.settings.channels:
            return
        link = execution_link(
            description.name,
            region=self.settings.region,
            execution_arn=description.execution_arn,
            api_url=self.settings.api_url,
        )
        alert = failed_execution(
            description,
            timeline,
            service=self.settings.service_name,
            stage=self.settings.stage,
            upload_prefix=self.settings.upload_prefix,
            link=link,
            redact=self.redactor.redact,
        )
        self.alerts.record_failure(alert)

    def _prune_loop(self) -> None:
        while not self._stopping.is_set():
            if self.history is not None:
                try:
                    removed = self.history.prune(self.settings.history_retention_days)
                    if removed:
                        log.info("history retention removed %d executions", removed)
                except Exception:
                    log.exception("history retention failed; trying again later")
            self._stopping.wait(PRUNE_EVERY_SECONDS)


def _uploaded_at(description: ExecutionDescription) -> float | None:
    """When the execution's photo was uploaded: its object-created event's time (epoch seconds)."""
    try:
        created_at = object_created_records(description.input)[0].event_time
    except Exception:  # an input that is not an upload event (a test, a hand-started run)
        return None
    return None if created_at is None else created_at.timestamp()
