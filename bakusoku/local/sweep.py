"""The stuck-photo sweep: re-drive or restart photos that stayed ``processing`` or ``pending``."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bakusoku.db.photos import PENDING, PROCESSING, PhotoRepository
from bakusoku.events import execution_name
from bakusoku.storage.base import ObjectStore
from bakusoku.storage.errors import BucketNotFoundError, ObjectNotFoundError
from bakusoku.storage.notifications import Sequencer, object_created_event
from bakusoku.workflow.engine import RUNNING, SUCCEEDED, WorkflowEngine
from bakusoku.workflow.errors import ExecutionAlreadyExistsError, ExecutionDoesNotExistError

log = logging.getLogger("bakusoku.sweep")

RouteEvent = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class SweepReport:
    """What one sweep did, photo ids per outcome."""

    redriven: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "redriven": self.redriven,
            "restarted": self.restarted,
            "running": self.running,
            "skipped": self.skipped,
        }


class StuckPhotoSweep:
    """Finds photos stuck longer than ``threshold_seconds`` and gets their pipeline going again.

    ``processing`` photos whose execution FAILED, TIMED_OUT or was ABORTED are re-driven from the
    failed state; one whose execution is missing is started again. ``pending`` photos whose
    object is in the store lost their upload event: their execution is started with the event
    the store would have sent (the same deterministic name, so a late original event finds it).
    Photos whose execution is still RUNNING are left alone.
    """

    def __init__(
        self,
        photos: PhotoRepository,
        workflow: WorkflowEngine,
        store: ObjectStore,
        state_machine_arn: str,
        *,
        route_event: RouteEvent,
        region: str,
        threshold_seconds: float = 900.0,
    ) -> None:
        self._photos = photos
        self._workflow = workflow
        self._store = store
        self._arn = state_machine_arn
        self._route = route_event
        self._region = region
        self.threshold_seconds = threshold_seconds
        self._sequencer = Sequencer()

    def __call__(self, scheduled_event: dict[str, Any] | None = None) -> dict[str, list[str]]:
        """The schedule's target: sweep once, return what was done."""
        return self.run_once().as_dict()

    def run_once(self, now: float | None = None) -> SweepReport:
        cutoff = (now if now is not None else time.time()) - self.threshold_seconds
        report = SweepReport()
        for photo in self._stuck(PROCESSING, cutoff):
            self._processing(photo, report)
        for photo in self._stuck(PENDING, cutoff):
            self._pending(photo, report)
        if report.redriven or report.restarted:
            log.info("sweep: %s", report.as_dict())
        return report

    def _stuck(self, status: str, cutoff: float) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self._photos.list(statuses=[status], cursor=cursor, limit=200)
            found.extend(p for p in page.items if p["updated_at"] < cutoff)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    def _processing(self, photo: dict[str, Any], report: SweepReport) -> None:
        name = photo.get("execution_name") or execution_name(
            photo["bucket"], photo["object_key"], photo.get("etag")
        )
        try:
            status = self._workflow.describe_execution(name).status
        except ExecutionDoesNotExistError:
            self._start(photo, report)
            return
        if status == RUNNING:
            report.running.append(photo["photo_id"])
        elif status == SUCCEEDED:  # the execution ended but the photo never moved: report it
            log.warning("photo %s is processing but %s succeeded", photo["photo_id"], name)
            report.skipped.append(photo["photo_id"])
        else:
            self._workflow.redrive_execution(name)
            report.redriven.append(photo["photo_id"])

    def _pending(self, photo: dict[str, Any], report: SweepReport) -> None:
        try:
            self._store.head_object(photo["bucket"], photo["object_key"])
        except (ObjectNotFoundError, BucketNotFoundError):
            report.skipped.append(photo["photo_id"])  # never uploaded: nothing to process
            return
        self._start(photo, report)

    def _start(self, photo: dict[str, Any], report: SweepReport) -> None:
        info = self._store.head_object(photo["bucket"], photo["object_key"])
        notification = object_created_event(
            bucket=info.bucket,
            key=info.key,
            size=info.size,
            etag=info.etag,
            sequencer=self._sequencer.next(),
            region=self._region,
            event_time=info.last_modified.astimezone(datetime.UTC),
        )
        name = execution_name(info.bucket, info.key, info.etag.strip('"'))
        try:
            self._workflow.start_execution(self._arn, self._route(notification), name=name)
        except ExecutionAlreadyExistsError:
            if self._workflow.describe_execution(name).status in (RUNNING, SUCCEEDED):
                report.running.append(photo["photo_id"])
                return
            self._workflow.redrive_execution(name)
            report.redriven.append(photo["photo_id"])
            return
        report.restarted.append(photo["photo_id"])
