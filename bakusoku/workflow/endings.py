"""How an execution ends: from its own thread, from the thread that interrupted its task, or
from another process, and who is told.

An execution ends from its own thread without waiting for the write (``_end_later``: the
committing thread tells the listeners and ``wait_for`` once it is durable). A StopExecution or the
execution's TimeoutSeconds during a task called in the execution's own thread ends it from the
interrupting thread (``_end_interrupted``, see inline.py). An execution running in no process here
is aborted in the database directly (``_abort_elsewhere``). A failed write leaves the execution
RUNNING, and it resumes from its checkpoint a little later.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import sqlalchemy as sa

from bakusoku.utc import to_datetime
from bakusoku.workflow.cancel import TIMEOUT
from bakusoku.workflow.engine_base import LiveExecution
from bakusoku.workflow.frames import ExecutionInfo, dumps
from bakusoku.workflow.history import ExecutionRecorder, move_execution
from bakusoku.workflow.interpreter import Interpreter
from bakusoku.workflow.model import (
    ABORTED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    ExecutionDescription,
)
from bakusoku.workflow.queries import ExecutionQueries

log = logging.getLogger("bakusoku.workflow.engine")


class ExecutionEndings(ExecutionQueries):
    """Ending executions and telling the listeners."""

    def _time_out(self, entry: LiveExecution) -> None:
        entry.scope.cancel(TIMEOUT)
        try:
            self._end_interrupted(entry, TIMED_OUT, "ExecutionTimedOut", "States.Timeout", None)
        except sa.exc.SQLAlchemyError:
            # Still RUNNING in the database: resumed once its thread lets go, it times out again.
            log.exception("could not record the timeout of an execution; it is resumed later")

    def _end_interrupted(
        self,
        entry: LiveExecution,
        status: str,
        event_type: str,
        error: str | None,
        cause: str | None,
    ) -> None:
        """End an execution whose thread is in a task call (its scope is cancelled already)."""
        guard, recorder, interpreter = entry.guard, entry.recorder, entry.interpreter
        if guard is None or recorder is None or interpreter is None or not guard.take():
            return  # its own thread ends it
        end, description = self._ending(
            recorder, interpreter, status, event_type, None, error, cause
        )
        written = recorder.close(end)  # False: no longer this engine's to end
        with self._lock:
            self._ended.notify_all()
        if written:
            self._notify(description)

    def _end_later(
        self,
        entry: LiveExecution,
        recorder: ExecutionRecorder,
        interpreter: Interpreter,
        status: str,
        event_type: str,
        *,
        output: Any = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        """End the execution from its own thread, which does not wait for the write: the
        committing thread tells the listeners (and ``wait_for``) once it is durable. The execution
        counts as live until then, so nothing resumes it meanwhile."""
        end, description = self._ending(
            recorder, interpreter, status, event_type, output, error, cause
        )
        entry.ending = True
        recorder.close_later(
            end, lambda written, failure: self._closed(entry, description, written, failure)
        )

    def _ending(
        self,
        recorder: ExecutionRecorder,
        interpreter: Interpreter,
        status: str,
        event_type: str,
        output: Any,
        error: str | None,
        cause: str | None,
    ) -> tuple[dict[str, Any], ExecutionDescription]:
        """Emit the end event; the execution row's final values and the description of it."""
        if status == SUCCEEDED:
            details: dict[str, Any] = {
                "output": dumps(output),
                "outputDetails": {"truncated": False},
            }
        else:
            details = {}
            if error:
                details["error"] = error
            if cause:
                details["cause"] = cause
        recorder.emit(event_type, details, previous=interpreter.track.last)
        if status == TIMED_OUT:
            # Only the ExecutionTimedOut event names States.Timeout: DescribeExecution of a
            # timed-out execution has no error and no cause (executions recorded on AWS).
            error = cause = None
        stopped_at = time.time()
        end: dict[str, Any] = {
            "status": status,
            "output": output if status == SUCCEEDED else None,
            "error": error or None,
            "cause": cause or None,
            "stopped_at": stopped_at,
        }
        return end, self._ended_description(interpreter.execution, status, end, stopped_at)

    def _closed(
        self,
        entry: LiveExecution,
        description: ExecutionDescription,
        written: bool,
        error: BaseException | None,
    ) -> None:
        """The end of an execution, written by another thread: tell who waits for it."""
        name = description.name
        with self._lock:
            if self._live.get(name) is entry:
                del self._live[name]
            self._ended.notify_all()
        if error is not None:
            log.error(
                "execution %s could not record its end; resuming it in %s s",
                name,
                self.RESUME_AFTER_ERROR_SECONDS,
                exc_info=error,
            )
            self._resume_later(name)
        elif written:
            hub = self._hub
            if hub is not None and hub.on_thread():
                hub.defer(lambda: self._notify(description))  # listeners may block
            else:
                self._notify(description)

    def _resume_later(self, name: str) -> None:
        """Still RUNNING in the database after a failed write: resume it from its checkpoint
        a little later, as after a restart."""
        timer = threading.Timer(self.RESUME_AFTER_ERROR_SECONDS, self._submit, args=(name,))
        timer.daemon = True
        timer.start()

    def _ended_description(
        self, info: ExecutionInfo, status: str, end: dict[str, Any], stopped_at: float
    ) -> ExecutionDescription:
        return ExecutionDescription(
            name=info.name,
            execution_arn=info.arn,
            state_machine_arn=info.state_machine_arn,
            state_machine_name=info.state_machine_name,
            status=status,
            input=info.input,
            output=end["output"],
            error=end["error"],
            cause=end["cause"],
            start_date=to_datetime(info.start_time),
            stop_date=to_datetime(stopped_at),
            redrive_count=info.redrive_count,
        )

    def _notify(self, description: ExecutionDescription) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(description)
            except Exception:
                log.exception("execution listener %r failed for %s", listener, description.name)

    def _abort_elsewhere(self, name: str, error: str | None, cause: str | None) -> None:
        """StopExecution of an execution this process does not run."""
        # Not running in this process: close it here. The status changes first, in the same
        # transaction, so an engine running it elsewhere can no longer write and stops.
        details = {k: v for k, v in (("error", error), ("cause", cause)) if v}
        now = time.time()
        with self.db.begin() as conn:
            closed = move_execution(
                conn,
                name,
                RUNNING,
                "ExecutionAborted",
                details,
                now,
                status=ABORTED,
                error=error,
                cause=cause,
                stopped_at=now,
            )
        if not closed:
            return  # it ended meanwhile
        with self._lock:
            listening = bool(self._listeners)
        if listening:
            self._notify(self.describe_execution(name))
