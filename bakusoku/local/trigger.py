"""The local EventBridge rule: object-created events under the upload prefix start the pipeline.

The execution input is the event as the configured route delivers it (``bakusoku.local.routes``;
by default S3's EventBridge "Object Created" event, as the AWS deployment's rule sends it). Reads
the durable outbox, so an event is delivered at least once even across a crash; the execution
name is derived from bucket, key and ETag, so a repeated delivery never starts a second execution.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from bakusoku.db.outbox import ObjectEventOutbox
from bakusoku.events import ObjectCreated, execution_name, parse_object_created
from bakusoku.local.routes import to_eventbridge
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.errors import ExecutionAlreadyExistsError

log = logging.getLogger("bakusoku.trigger")


class PipelineTrigger:
    """Starts one execution of ``state_machine_arn`` per new object under ``bucket``/``prefix``."""

    def __init__(
        self,
        outbox: ObjectEventOutbox,
        workflow: WorkflowEngine,
        state_machine_arn: str,
        *,
        bucket: str,
        prefix: str,
        poll_seconds: float = 0.5,
        route_event: Callable[[dict[str, Any]], dict[str, Any]] = to_eventbridge,
    ) -> None:
        self._outbox = outbox
        self._workflow = workflow
        self._arn = state_machine_arn
        self._bucket = bucket
        self._prefix = prefix
        self._poll = poll_seconds
        self._route = route_event
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[ObjectCreated], None]] = []

    def add_listener(self, listener: Callable[[ObjectCreated], None]) -> None:
        """Call ``listener`` with each new object once its execution has started (not repeats)."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pipeline-trigger", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Tell the trigger an event was just appended, so it need not wait for its next poll."""
        self._wakeup.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def dispatch_pending(self) -> int:
        """Deliver every undelivered event now; returns how many were handled."""
        handled = 0
        while batch := self._outbox.pending(limit=100):
            done = []
            for event in batch:
                try:
                    self._deliver(event.payload)
                except Exception:  # keep the event: it is retried on the next pass
                    log.exception("could not start the pipeline for outbox event %s", event.id)
                    continue
                done.append(event.id)
            self._outbox.mark_dispatched(done)
            handled += len(done)
            if len(done) < len(batch):
                break
        return handled

    def _deliver(self, notification: dict[str, Any]) -> None:
        for record in parse_object_created(notification):
            if record.bucket != self._bucket or not record.key.startswith(self._prefix):
                continue
            name = execution_name(record.bucket, record.key, record.etag)
            try:
                self._workflow.start_execution(self._arn, self._route(notification), name=name)
            except ExecutionAlreadyExistsError:
                log.info("execution %s already exists: duplicate event ignored", name)
                continue
            self._tell(record)

    def _tell(self, record: ObjectCreated) -> None:
        for listener in self._listeners:
            try:
                listener(record)
            except Exception:  # a listener's failure must not hold up the pipeline
                log.exception("trigger listener %r failed for %s", listener, record.key)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self._poll)
            self._wakeup.clear()
            if self._stopping.is_set():
                break
            try:
                self.dispatch_pending()
            except Exception:
                log.exception("the pipeline trigger failed to read the outbox; retrying")
