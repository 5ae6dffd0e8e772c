"""The execution life cycle: claim, lease, resume and run an execution on the hub.

Each running execution is leased by the engine running it (``owner``, ``lease_until``), renewed
while it runs; an execution is claimable when it is unclaimed, this engine's, or its lease has
expired, so the executions of a process that died are taken over. A claimed execution runs as a
greenlet on the hub from its checkpoint, with a recorder for its history, a CallGuard for the task
it calls in its own thread (see inline.py) and a timer for the machine's TimeoutSeconds; how it
ends is endings.py.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import sqlalchemy as sa

from bakusoku.workflow.cancel import LOST, STOP, TIMEOUT, Interrupted
from bakusoku.workflow.endings import ExecutionEndings
from bakusoku.workflow.engine_base import LiveExecution, LoadedExecution
from bakusoku.workflow.errors import STATES_RUNTIME, ExecutionNotRedrivableError, StatesError
from bakusoku.workflow.frames import ExecutionInfo
from bakusoku.workflow.history import ExecutionRecorder, last_event_id, move_execution
from bakusoku.workflow.hub import blocking
from bakusoku.workflow.inline import CallGuard
from bakusoku.workflow.interpreter import Interpreter
from bakusoku.workflow.model import (
    ABORTED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    StateMachine,
)
from bakusoku.workflow.tables import executions

log = logging.getLogger("bakusoku.workflow.engine")


class ExecutionLifecycle(ExecutionEndings):
    """Claiming, leasing, resuming and running executions."""

    def _claimable(self, now: float) -> Any:
        """RUNNING executions no live engine holds: unclaimed, ours, or with an expired lease."""
        return sa.and_(
            executions.c.status == RUNNING,
            sa.or_(
                executions.c.owner.is_(None),
                executions.c.owner == self.owner,
                executions.c.lease_until < now,
            ),
        )

    def take_waiting(self, machine_name: str | None = None) -> None:
        """Take the executions another process wrote for this engine (unclaimed, RUNNING) now,
        rather than at the next lease renewal; does nothing while the engine is stopped."""
        with self._lock:
            running = self._running
        if running:
            self._resume(machine_name)

    def _resume(self, machine_name: str | None = None) -> None:
        """Submit every claimable execution of the registered state machines (or of one)."""
        with self._lock:
            machines = [machine_name] if machine_name is not None else list(self._machines)
            live = set(self._live)
        if not machines:
            return
        with self.db.connect() as conn:
            names = (
                conn.execute(
                    sa.select(executions.c.name)
                    .where(self._claimable(time.time()), executions.c.state_machine.in_(machines))
                    .order_by(executions.c.started_at)
                )
                .scalars()
                .all()
            )
        for name in names:
            if name not in live:
                self._submit(name)

    def _maintain(self, stopping: threading.Event) -> None:
        """Renew this engine's leases and take over executions whose engine went away."""
        while not stopping.wait(self.lease_seconds / 3):
            try:
                self._writer.run(
                    lambda conn: conn.execute(
                        executions.update()
                        .where(executions.c.owner == self.owner, executions.c.status == RUNNING)
                        .values(lease_until=time.time() + self.lease_seconds)
                    )
                )
                self._resume()
            except sa.exc.SQLAlchemyError:
                log.exception("could not renew execution leases; trying again")

    def _claim(self, name: str) -> bool:
        now = time.time()
        claimed = self._writer.run(
            lambda conn: (
                conn.execute(
                    executions.update()
                    .where(executions.c.name == name, self._claimable(now))
                    .values(owner=self.owner, lease_until=now + self.lease_seconds)
                ).rowcount
            )
        )
        return bool(claimed == 1)

    def _submit(self, name: str, fresh: LoadedExecution | None = None) -> bool:
        with self._lock:
            if not self._running or self._hub is None or name in self._live:
                return False
            entry = LiveExecution(recorder=None, scope=self._root.child(), fresh=fresh)
            self._live[name] = entry
            self._hub.spawn(self._run, name, entry)
            return True

    def _release(self, name: str) -> None:
        with contextlib.suppress(sa.exc.SQLAlchemyError):  # else its lease expires
            self._writer.run(
                lambda conn: conn.execute(
                    executions.update()
                    .where(
                        executions.c.name == name,
                        executions.c.owner == self.owner,
                        executions.c.status == RUNNING,
                    )
                    .values(owner=None, lease_until=None)
                )
            )

    def _run(self, name: str, entry: LiveExecution) -> None:
        failed = False
        try:
            self._run_execution(name, entry)
        except Exception:
            # The database could not be written (or read): the execution stays RUNNING in it and
            # is resumed from its checkpoint a little later, as after a restart.
            failed = True
            log.exception(
                "execution %s could not record its progress; resuming it in %s s",
                name,
                self.RESUME_AFTER_ERROR_SECONDS,
            )
        finally:
            entry.scope.close()
            with self._lock:
                # An end still being written keeps it live until then (see ``_closed``).
                if self._live.get(name) is entry and not entry.ending:
                    del self._live[name]
                self._ended.notify_all()
            entry.done.set()
        if failed:
            self._resume_later(name)
        elif entry.guard is not None and entry.guard.taken:
            # Ended elsewhere while its task ran on: if it was redriven meanwhile (refused while
            # this thread still held it), run it now; otherwise its claim finds it closed.
            self._submit(name)

    def _load(self, name: str) -> LoadedExecution | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(executions).where(executions.c.name == name)).one_or_none()
            last_id = last_event_id(conn, name)
        if row is None:
            return None
        return LoadedExecution(
            row.state_machine,
            row.status,
            row.input,
            row.started_at,
            row.redrive_count or 0,
            row.checkpoint,
            last_id,
            row.definition_revision,
        )

    def _run_execution(self, name: str, entry: LiveExecution) -> None:
        if entry.scope.reason == STOP:
            return
        row = entry.fresh
        if row is None:
            if not self._claim(name):
                return  # another engine runs it
            row = blocking(lambda: self._load(name))
        if row is None or row.status != RUNNING or entry.scope.reason == STOP:
            return
        machine = self._machines[row.state_machine]
        definition = machine.definition
        started_on = row.definition_revision
        if started_on is not None and started_on != machine.revision:  # an older release's
            definition = blocking(lambda: self._kept_definition(machine, started_on))
        recorder = ExecutionRecorder(
            self.db,
            name,
            row.last_event_id,
            owner=self.owner,
            lease_seconds=self.lease_seconds,
            on_lost=lambda: entry.scope.cancel(LOST),
            writer=self._writer,
        )
        entry.recorder = recorder
        if entry.scope.reason == STOP:  # stopped while loading: write nothing
            recorder.discard()
            return
        info = ExecutionInfo(
            arn=self.execution_arn(machine.name, name),
            name=name,
            input=row.input,
            start_time=row.started_at,
            state_machine_arn=machine.arn,
            state_machine_name=machine.name,
            region=self.region,
            account=self.account,
            role_arn=self._role_arn(),
            redrive_count=row.redrive_count,
        )
        # Tasks without a timeout run in this thread: a StopExecution or the execution's timeout
        # during one ends the execution from the interrupting thread (see inline.py).
        guard = CallGuard(entry.scope)
        interpreter = Interpreter(
            definition,
            info,
            self.invoker,
            recorder,
            entry.scope,
            time_scale=self.time_scale,
            tokens=self._tokens,
            inline_tasks=True,
            guard=guard,
        )
        entry.interpreter = interpreter
        entry.guard = guard
        checkpoint = row.checkpoint or {}
        timer = self._execution_timer(definition, row.started_at, entry)
        try:
            output = interpreter.run(
                checkpoint.get("input", row.input),
                previous_event_id=recorder.last_event_id,
                start_at=checkpoint.get("state"),
                variables=checkpoint.get("variables"),
                entered_at=checkpoint.get("entered"),
                done_children=checkpoint.get("children"),
            )
        except StatesError as failure:
            self._end_later(
                entry,
                recorder,
                interpreter,
                FAILED,
                "ExecutionFailed",
                error=failure.error,
                cause=failure.cause,
            )
        except Interrupted as interrupted:
            if guard.taken:
                return  # ended by the thread that interrupted its task call
            if interrupted.reason in (STOP, LOST):
                recorder.discard()
                return
            if interrupted.reason == TIMEOUT:
                self._end_later(
                    entry,
                    recorder,
                    interpreter,
                    TIMED_OUT,
                    "ExecutionTimedOut",
                    error="States.Timeout",
                )
            else:
                error, cause = entry.abort
                self._end_later(
                    entry,
                    recorder,
                    interpreter,
                    ABORTED,
                    "ExecutionAborted",
                    error=error,
                    cause=cause,
                )
        except sa.exc.SQLAlchemyError:
            raise
        except Exception as exc:
            # A fault of the engine itself (not of the workflow): fail the execution visibly
            # rather than leave it RUNNING forever.
            log.exception("execution %s failed on an unexpected engine error", name)
            self._end_later(
                entry,
                recorder,
                interpreter,
                FAILED,
                "ExecutionFailed",
                error=STATES_RUNTIME,
                cause=f"Internal engine error: {type(exc).__name__}: {exc}",
            )
        else:
            self._end_later(
                entry, recorder, interpreter, SUCCEEDED, "ExecutionSucceeded", output=output
            )
        finally:
            if timer is not None:
                timer.cancel()

    def _kept_definition(self, machine: StateMachine, revision: str) -> dict[str, Any]:
        """An older definition of ``machine`` that an execution started with."""
        kept = self._definitions.definition(machine.name, revision)
        if kept is None:
            # Definitions are never deleted; only a database edited by hand gets here.
            log.warning(
                "the definition %s of %s is not stored; running the current one",
                revision[:12],
                machine.name,
            )
            return machine.definition
        return kept

    def _execution_timer(
        self, definition: dict[str, Any], started_at: float, entry: LiveExecution
    ) -> threading.Timer | None:
        limit = definition.get("TimeoutSeconds")
        if limit is None:
            return None
        remaining = max(0.0, started_at + limit * self.time_scale - time.time())
        timer = threading.Timer(remaining, self._time_out, args=(entry,))
        timer.daemon = True
        timer.start()
        return timer

    def _reopen(self, name: str, status: str, count: int) -> None:
        """RedriveExecution's write: the ``status`` execution is RUNNING again, unclaimed."""
        with self.db.begin() as conn:
            reopened = move_execution(
                conn,
                name,
                status,
                "ExecutionRedriven",
                {"redriveCount": count},
                time.time(),
                status=RUNNING,
                output=None,
                error=None,
                cause=None,
                stopped_at=None,
                redrive_count=count,
            )
            if not reopened:
                raise ExecutionNotRedrivableError(
                    f"execution {name!r} changed while redriving; try again"
                )
