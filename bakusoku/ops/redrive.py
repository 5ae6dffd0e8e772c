"""Re-driving a failed photo so that it is processed again, not just restarted where it stopped.

The engine's ``redrive_execution`` is Step Functions' RedriveExecution: it restarts from the state
that failed. That is what an unhandled failure needs (a Task without a Catch, a timeout, an abort).
A handled failure is different: the pipeline caught the error and ended in a Fail state, so a
re-drive would run only that Fail state again. Such an execution is reprocessed instead: a new
execution of the same state machine with the same input, named ``{name}-redrive-{n}``, with the
photo moved back to ``processing`` and pointed at it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from bakusoku.db.photos import PhotoRepository
from bakusoku.ops.errors import OpsError
from bakusoku.ops.history import photo_of
from bakusoku.workflow.engine import (
    ABORTED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    ExecutionDescription,
    ExecutionRef,
)
from bakusoku.workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionDoesNotExistError,
    ExecutionNotRedrivableError,
)
from bakusoku.workflow.history import HistoryEvent
from bakusoku.workflow.tables import executions

log = logging.getLogger("bakusoku.ops.redrive")

REDRIVEN = "redriven"  # restarted in place from the failed state
REPROCESSED = "reprocessed"  # a new execution processes the photo again

MAX_NAME_LENGTH = 80
_SUFFIX = re.compile(r"-redrive-\d+$")
# Events that end a try or a state with an error; an error the run went on from was caught.
_ERROR_EVENTS = re.compile(r"^(?!Execution).*(Failed|TimedOut)$")
_NEW_TRY = re.compile(r"(Scheduled|Started|Succeeded)$")


class AlreadyReprocessedError(OpsError):
    """The photo of this execution was already processed again by a later execution."""

    code = "execution.already_reprocessed"


@dataclass(frozen=True)
class RedriveOutcome:
    """What a re-drive did: ``execution`` is the one now processing the photo."""

    requested: str
    action: str  # REDRIVEN or REPROCESSED
    execution: ExecutionDescription
    started: bool  # False: an earlier re-drive of the same failure is still running
    photo_id: str | None


def redrive_name(base: str, n: int) -> str:
    """``{base}-redrive-{n}``, the base cut so the name keeps to Step Functions' 80 characters."""
    suffix = f"-redrive-{n}"
    return base[: MAX_NAME_LENGTH - len(suffix)] + suffix


def failure_was_handled(events: Sequence[HistoryEvent]) -> bool:
    """True when the run (after its last re-drive) ended in a Fail state reached through a Catch.

    Read from the history alone: the last state entered is a Fail state, and an error earlier in
    the run was followed by another state instead of a retry or the end of the execution.
    """
    last = max((i for i, e in enumerate(events) if e.type == "ExecutionRedriven"), default=0)
    run = list(events[last:])
    if not run or run[-1].type != "ExecutionFailed":
        return False
    entered = [e for e in run if e.type.endswith("StateEntered")]
    if not entered or entered[-1].type != "FailStateEntered":
        return False
    failing: str | None = None
    for event in run:
        if _ERROR_EVENTS.match(event.type):
            failing = event.state_name
        elif failing is not None and event.state_name == failing and _NEW_TRY.search(event.type):
            failing = None  # retried (or the failure was inside a state that then went on)
        elif failing is not None and event.type.endswith("StateEntered"):
            return True  # the run moved on to another state after the error: a Catch
    return False


class RedriveTarget(Protocol):
    """The Step Functions operations a re-drive calls: the workflow engine has them, and so has
    the Step Functions adapter the API uses on AWS."""

    def describe_execution(self, name: str) -> ExecutionDescription: ...

    def get_execution_history(self, name: str) -> list[HistoryEvent]: ...

    def redrive_execution(self, name: str) -> object: ...

    def start_execution(
        self, state_machine_arn: str, input: Any = None, name: str | None = None
    ) -> ExecutionRef: ...


class Redriver:
    """Re-drives failed executions of the workflow engine for the photo they process."""

    def __init__(self, workflow: RedriveTarget, db: sa.Engine, upload_prefix: str) -> None:
        self.workflow = workflow
        self.db = db
        self.photos = PhotoRepository(db)
        self.upload_prefix = upload_prefix

    def redrive(self, name: str) -> RedriveOutcome:
        """Re-drive ``name``: in place, or as a new execution when its failure was handled.

        Raises ExecutionDoesNotExistError, ExecutionNotRedrivableError (not failed), and
        AlreadyReprocessedError (a later re-drive of it succeeded).
        """
        described = self.workflow.describe_execution(name)
        ref = photo_of(described.input, self.upload_prefix)
        photo_id = ref.photo_id if ref else None
        if described.status not in (FAILED, TIMED_OUT, ABORTED):
            raise ExecutionNotRedrivableError(
                f"execution {described.name!r} is {described.status}; "
                "only FAILED, TIMED_OUT or ABORTED executions can be re-driven"
            )
        if not failure_was_handled(self.workflow.get_execution_history(described.name)):
            self.workflow.redrive_execution(described.name)
            now = self.workflow.describe_execution(described.name)
            return RedriveOutcome(described.name, REDRIVEN, now, True, photo_id)
        return self._reprocess(described, photo_id, ref.album if ref else None)

    def _reprocess(
        self, failed: ExecutionDescription, photo_id: str | None, album: str | None
    ) -> RedriveOutcome:
        base = _SUFFIX.sub("", failed.name) or failed.name
        if photo_id is not None:
            # The photo row will point at the new execution; the failed one keeps the photo on
            # its own row, so a search by photo finds every run.
            with self.db.begin() as conn:
                conn.execute(
                    executions.update()
                    .where(executions.c.name == failed.name, executions.c.photo_id.is_(None))
                    .values(photo_id=photo_id, album=album)
                )
        n, latest = self._latest_redrive(base)
        if latest is not None and latest.status == RUNNING:
            return RedriveOutcome(failed.name, REPROCESSED, latest, False, photo_id)
        if latest is not None and latest.status == SUCCEEDED:
            raise AlreadyReprocessedError(
                f"execution {failed.name!r} was already re-driven as {latest.name!r}, which "
                "succeeded; nothing to do"
            )
        new_name = redrive_name(base, n + 1)
        # Only one of concurrent re-drives moves the photo (and gets its failure back).
        failure = self.photos.redrive_failed(photo_id, new_name) if photo_id is not None else None
        try:
            ref = self.workflow.start_execution(
                failed.state_machine_arn, failed.input, name=new_name
            )
        except ExecutionAlreadyExistsError:
            # A concurrent re-drive started it and it has ended already: report that one.
            current = self.workflow.describe_execution(new_name)
            return RedriveOutcome(failed.name, REPROCESSED, current, False, photo_id)
        except Exception:
            if photo_id is not None and failure is not None:
                self.photos.undo_redrive(photo_id, new_name, failure)
            raise
        current = self.workflow.describe_execution(ref.name)
        # Only one caller moves the photo, so only one reports the start as its own.
        started = failure is not None or photo_id is None
        log.info("execution %s re-driven as the new execution %s", failed.name, new_name)
        return RedriveOutcome(failed.name, REPROCESSED, current, started, photo_id)

    def reprocessed_as(self, name: str) -> list[str]:
        """The executions that reprocessed ``name`` after it failed, oldest first."""
        base = _SUFFIX.sub("", name) or name
        own = _SUFFIX.search(name)
        after = int(own.group(0).rsplit("-", 1)[1]) if own and base != name else 0
        names: list[str] = []
        n = 1
        while True:
            candidate = redrive_name(base, n)
            try:
                self.workflow.describe_execution(candidate)
            except ExecutionDoesNotExistError:
                return names
            if n > after:
                names.append(candidate)
            n += 1

    def _latest_redrive(self, base: str) -> tuple[int, ExecutionDescription | None]:
        """The highest ``n`` with an execution ``{base}-redrive-{n}``, and that execution."""
        n, latest = 0, None
        while True:
            try:
                found = self.workflow.describe_execution(redrive_name(base, n + 1))
            except ExecutionDoesNotExistError:
                return n, latest
            n, latest = n + 1, found
