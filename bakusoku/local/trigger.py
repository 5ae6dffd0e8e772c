"""The local EventBridge rules on S3's object-created events: each new object goes to every target
whose prefix it is under.

A target is what one rule of the AWS stack starts: the photo pipeline's state machine for objects
under the upload prefix (its input is the event as the configured route delivers it,
``bakusoku.local.routes``), a declared function for objects under its prefix (invoked
asynchronously with the "Object Created" event, ``bakusoku.local.functions``). Prefixes may
overlap (on AWS both rules would fire), so an object may go to several targets.

The router reads the durable outbox, so an event is delivered at least once even across a crash:
an event leaves the outbox only once every target it matches has taken it. Each target derives
an idempotency key from bucket, key and ETag (the pipeline's execution name, a function's
invocation key), so a repeated delivery never starts anything twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bakusoku.db.outbox import ObjectEventOutbox
from bakusoku.events import ObjectCreated, execution_name, parse_object_created
from bakusoku.local.routes import to_eventbridge
from bakusoku.workflow.engine import WorkflowEngine
from bakusoku.workflow.errors import ExecutionAlreadyExistsError

log = logging.getLogger("bakusoku.trigger")

# Starts the target for one object of a notification; False when it was started before (a
# repeated event). Raising keeps the event in the outbox: it is delivered again on the next pass.
StartFunction = Callable[[ObjectCreated, dict[str, Any]], bool]


@dataclass(frozen=True)
class ObjectTarget:
    """What objects created under ``prefix`` of the stack's bucket start (one AWS rule's target)."""

    name: str
    prefix: str
    start: StartFunction

    def matches(self, record: ObjectCreated) -> bool:
        return record.key.startswith(self.prefix)


def state_machine_target(
    name: str,
    prefix: str,
    workflow: WorkflowEngine,
    state_machine_arn: str,
    route_event: Callable[[dict[str, Any]], dict[str, Any]] = to_eventbridge,
) -> ObjectTarget:
    """Objects under ``prefix`` start an execution of ``state_machine_arn``, named after the
    object's bucket, key and ETag, with the notification as ``route_event`` shapes it."""

    def start(record: ObjectCreated, notification: dict[str, Any]) -> bool:
        name_ = execution_name(record.bucket, record.key, record.etag)
        try:
            workflow.start_execution(state_machine_arn, route_event(notification), name=name_)
        except ExecutionAlreadyExistsError:
            log.info("execution %s already exists: duplicate event ignored", name_)
            return False
        return True

    return ObjectTarget(name, prefix, start)


def targets_for(
    targets: Sequence[ObjectTarget], bucket: str, record: ObjectCreated
) -> list[ObjectTarget]:
    """The targets an object goes to: every one whose prefix its key is under, in the stack's
    bucket only (each AWS rule's pattern names the bucket and a key prefix)."""
    if record.bucket != bucket:
        return []
    return [target for target in targets if target.matches(record)]


class ObjectEventRouter:
    """Delivers each new object of ``bucket`` to every target whose prefix matches its key."""

    def __init__(
        self,
        outbox: ObjectEventOutbox,
        targets: Sequence[ObjectTarget],
        *,
        bucket: str,
        poll_seconds: float = 0.5,
    ) -> None:
        self._outbox = outbox
        self._targets = list(targets)
        self._bucket = bucket
        self._poll = poll_seconds
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[tuple[str, Callable[[ObjectCreated], None]]] = []

    @property
    def targets(self) -> tuple[ObjectTarget, ...]:
        return tuple(self._targets)

    def add_target(self, target: ObjectTarget) -> None:
        """Route objects under ``target.prefix`` to it too (before ``start``)."""
        self._targets.append(target)

    def add_listener(self, target: str, listener: Callable[[ObjectCreated], None]) -> None:
        """Call ``listener`` with each new object once ``target`` has started for it (not for
        repeats)."""
        self._listeners.append((target, listener))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="object-events", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Tell the router an event was just appended, so it need not wait for its next poll."""
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
                except Exception:  # keep the event: it is delivered again on the next pass
                    log.exception("could not deliver outbox event %s to its targets", event.id)
                    continue
                done.append(event.id)
            self._outbox.mark_dispatched(done)
            handled += len(done)
            if len(done) < len(batch):
                break
        return handled

    def _deliver(self, notification: dict[str, Any]) -> None:
        for record in parse_object_created(notification):
            for target in targets_for(self._targets, self._bucket, record):
                if target.start(record, notification):
                    self._tell(target.name, record)

    def _tell(self, target: str, record: ObjectCreated) -> None:
        for wanted, listener in self._listeners:
            if wanted != target:
                continue
            try:
                listener(record)
            except Exception:  # a listener's failure must not hold up delivery
                log.exception("router listener %r failed for %s", listener, record.key)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self._poll)
            self._wakeup.clear()
            if self._stopping.is_set():
                break
            try:
                self.dispatch_pending()
            except Exception:
                log.exception("the object-event router failed to read the outbox; retrying")
