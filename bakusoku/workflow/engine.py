"""The workflow engine: state machines, executions with durable history, resume after restart."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bakusoku.workflow import jsontext
from bakusoku.workflow.callbacks import TaskTokens
from bakusoku.workflow.cancel import ABORT, LOST, STOP, TIMEOUT, CancelScope, Interrupted
from bakusoku.workflow.clock import to_datetime
from bakusoku.workflow.definition import load_definition
from bakusoku.workflow.errors import (
    MAX_PAYLOAD_BYTES,
    STATES_RUNTIME,
    EngineStoppedError,
    ExecutionAlreadyExistsError,
    ExecutionDoesNotExistError,
    ExecutionNotRedrivableError,
    InvalidNameError,
    StateMachineDoesNotExistError,
    StatesError,
    ValidationError,
    WorkflowError,
)
from bakusoku.workflow.frames import ExecutionInfo, dumps
from bakusoku.workflow.history import ExecutionRecorder, HistoryEvent, event_from_row
from bakusoku.workflow.hub import Hub, blocking
from bakusoku.workflow.inline import CallGuard, GuardedInvoker
from bakusoku.workflow.interpreter import Interpreter
from bakusoku.workflow.invoker import TaskInvoker
from bakusoku.workflow.pages import Cursor, decode_token, encode_token
from bakusoku.workflow.tables import execution_events, executions
from bakusoku.workflow.writer import GroupWriter, NewExecution

log = logging.getLogger(__name__)

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"
STATUSES = (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED)
DEFAULT_PAGE_SIZE = 100  # ListExecutions' maxResults: the default and the largest page
MAX_PAGE_SIZE = 1000

# Step Functions' naming rules: 1-80 characters, none of whitespace, brackets, wildcards,
# the listed punctuation, or control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
TIMED_OUT_CAUSE = "The execution ran longer than the state machine's TimeoutSeconds"


class WaitTimeoutError(WorkflowError, TimeoutError):
    """The execution did not end within the time given to ``wait_for``."""

    code = "workflow.wait_timeout"


@dataclass(frozen=True)
class StateMachine:
    """A registered state machine: its name, ARN and validated definition."""

    name: str
    arn: str
    definition: dict[str, Any]


@dataclass(frozen=True)
class ExecutionRef:
    """What StartExecution returns."""

    name: str
    arn: str
    start_date: datetime


@dataclass(frozen=True)
class ExecutionDescription:
    """What DescribeExecution returns."""

    name: str
    execution_arn: str
    state_machine_arn: str
    state_machine_name: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    start_date: datetime
    stop_date: datetime | None
    redrive_count: int = 0


@dataclass(frozen=True)
class ExecutionPage:
    """What ListExecutions returns: one page, and the token of the next when there is one."""

    executions: list[ExecutionDescription]
    next_token: str | None = None


def validate_name(name: str, what: str = "execution") -> None:
    """Raise InvalidNameError unless ``name`` follows the Step Functions naming rules."""
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        raise InvalidNameError(f"{what} name {name!r} must be 1-80 characters long")
    bad = _BAD_NAME.search(name)
    if bad:
        raise InvalidNameError(
            f"{what} name {name!r} has the character {bad.group(0)!r}; "
            "use letters, digits, '-' and '_'"
        )


@dataclass(frozen=True)
class _Loaded:
    """What running an execution needs of its row."""

    state_machine: str
    status: str
    input: Any
    started_at: float
    redrive_count: int
    checkpoint: dict[str, Any] | None
    last_event_id: int


@dataclass
class _Live:
    recorder: ExecutionRecorder | None
    scope: CancelScope
    # Set once its run is over (or was dropped before it began).
    done: threading.Event = field(default_factory=threading.Event)
    abort: tuple[str | None, str | None] = (None, None)  # StopExecution's error and cause
    # An execution this engine has just started and claimed: nothing to read back.
    fresh: _Loaded | None = None
    # Its end is being written by another thread (``_end_later``).
    ending: bool = False
    # Set while it runs: a task called in its thread, and what ending it from elsewhere needs.
    guard: CallGuard | None = None
    interpreter: Interpreter | None = None


class WorkflowEngine:
    """Runs state machine executions locally, as Step Functions (Standard workflows) would.

    Executions and their history live in the ``executions`` and ``execution_events`` tables.
    An execution left RUNNING by a stopped or crashed process resumes, when its state machine is
    registered and the engine started, from the top-level state it was in (a Task there runs
    again: tasks are at-least-once, as in Step Functions). One engine per database runs
    executions; ``time_scale`` multiplies every wait (Wait states, retry intervals, task
    timeouts) and exists for tests.
    Each running execution is claimed by its engine with a lease (``lease_seconds``) renewed
    while it runs: several engine processes can share one database, and the executions of a
    process that died are taken over once its leases expire. ``owner`` names this engine in
    those claims; give a stable one (for example the data directory's host and path) so that a
    restarted process takes its executions back at once instead of after the lease.
    """

    RESUME_AFTER_ERROR_SECONDS = 5.0

    def __init__(
        self,
        db: sa.Engine,
        invoker: TaskInvoker,
        *,
        max_concurrent_executions: int = 64,
        region: str = "us-east-1",
        account: str = "000000000000",
        time_scale: float = 1.0,
        lease_seconds: float = 30.0,
        owner: str | None = None,
    ) -> None:
        if max_concurrent_executions < 1:
            raise ValueError("max_concurrent_executions must be at least 1")
        self.db = db
        self.invoker = invoker
        self.region = region
        self.account = account
        self.time_scale = time_scale
        self.max_concurrent_executions = max_concurrent_executions
        self._machines: dict[str, StateMachine] = {}
        self._live: dict[str, _Live] = {}
        self._listeners: list[Callable[[ExecutionDescription], None]] = []
        self._lock = threading.Lock()
        self._ended = threading.Condition(self._lock)
        self._hub: Hub | None = None
        self._root = CancelScope()
        self._running = False
        self._tokens = TaskTokens()
        self.lease_seconds = lease_seconds
        self.owner = (owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")[:64]
        self._maintainer: threading.Thread | None = None
        self._maintain_stop = threading.Event()
        self._writer = GroupWriter(db)

    # ---- state machines ------------------------------------------------------------------------

    def state_machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def execution_arn(self, state_machine: str, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:execution:{state_machine}:{name}"

    def register_state_machine(
        self,
        name: str,
        definition: str | Mapping[str, Any],
        substitutions: Mapping[str, str] | None = None,
    ) -> str:
        """Validate and register (or replace) a state machine; returns its ARN.

        Executions of it left RUNNING by a previous process resume if the engine is started.
        """
        validate_name(name, "state machine")
        machine = StateMachine(
            name, self.state_machine_arn(name), load_definition(definition, substitutions)
        )
        with self._lock:
            self._machines[name] = machine
            running = self._running
        if running:
            self._resume(name)
        return machine.arn

    def _machine(self, name_or_arn: str) -> StateMachine:
        name = name_or_arn.rsplit(":", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        with self._lock:
            machine = self._machines.get(name)
        if machine is None:
            raise StateMachineDoesNotExistError(
                f"state machine {name_or_arn!r} is not registered; "
                "call register_state_machine first"
            )
        return machine

    # ---- lifecycle -----------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[ExecutionDescription], None]) -> None:
        """Call ``listener`` with the description of every execution that ends."""
        with self._lock:
            self._listeners.append(listener)

    def start(self) -> None:
        """Begin running executions, first resuming those a previous process left RUNNING."""
        with self._lock:
            if self._running:
                return
            self._root = CancelScope()
            # Executions run as greenlets on the hub's thread; see hub.py.
            self._hub = Hub(self.max_concurrent_executions, after_run=self._writer.lead_pending)
            self._hub.start()
            self._running = True
            self._maintain_stop = threading.Event()
            self._maintainer = threading.Thread(
                target=self._maintain,
                args=(self._maintain_stop,),
                name="workflow-leases",
                daemon=True,
            )
            self._maintainer.start()
        self._resume()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop running executions; they stay RUNNING in the database and resume on next start."""
        with self._lock:
            if not self._running:
                return
            self._running = False
            live = list(self._live.values())
            hub = self._hub
            self._hub = None
            maintainer = self._maintainer
            self._maintainer = None
        self._maintain_stop.set()
        if maintainer is not None:
            maintainer.join(timeout)
        deadline = time.monotonic() + timeout
        if hub is not None:
            # Executions whose task has just returned record it (their end, or the checkpoint
            # before their next task, which they then do not start): it does not run again
            # after the restart.
            hub.quiesce(lambda: Interrupted(STOP), timeout / 2)
        # Stop writing before interrupting, so nothing an interrupted run does reaches the history.
        for entry in live:
            if entry.recorder is not None:
                entry.recorder.discard()
        self._root.cancel(STOP)
        if hub is not None:
            for _name, entry in hub.drop_waiting():  # never begun: nothing to wait for
                entry.done.set()
        for entry in live:
            # A task called for the execution runs on; nothing of it is written.
            if not (entry.guard and entry.guard.calling):
                # Still finishing past the timeout: nothing more to do here.
                entry.done.wait(max(0.0, deadline - time.monotonic()))
        # Ends written by no waiting thread land before the hand-back, which would refuse them.
        if not self._writer.drain(max(0.0, deadline - time.monotonic())):
            log.warning("some execution ends were still being written when the engine stopped")
        with self._lock:
            self._live.clear()
        # Hand the executions back at once, so the next engine takes them without waiting (if
        # the database is out of reach, they are taken over when their leases expire).
        try:
            with self.db.begin() as conn:
                conn.execute(
                    executions.update()
                    .where(executions.c.owner == self.owner, executions.c.status == RUNNING)
                    .values(owner=None, lease_until=None)
                )
        except sa.exc.SQLAlchemyError:
            log.exception("could not hand back this engine's executions; their leases will expire")
        self._writer.close()
        if hub is not None:
            hub.stop()

    def __enter__(self) -> WorkflowEngine:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

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

    def _submit(self, name: str, fresh: _Loaded | None = None) -> bool:
        with self._lock:
            if not self._running or self._hub is None or name in self._live:
                return False
            entry = _Live(recorder=None, scope=self._root.child(), fresh=fresh)
            self._live[name] = entry
            self._hub.spawn(self._run, name, entry)
            return True

    # ---- executions ----------------------------------------------------------------------------

    def start_execution(
        self, state_machine_arn: str, input: Any = None, name: str | None = None
    ) -> ExecutionRef:
        """Start an execution (StartExecution semantics).

        Same name and input as an execution still RUNNING: returns that one. Same name otherwise:
        ExecutionAlreadyExistsError. Bad name: InvalidNameError.
        """
        machine = self._machine(state_machine_arn)
        name = name if name is not None else str(uuid.uuid4())
        validate_name(name)
        state_input = {} if input is None else input
        try:
            state_input, input_text = jsontext.copy(state_input)
        except (TypeError, ValueError) as exc:
            raise WorkflowError(
                f"execution input must be JSON: {exc}", code="workflow.invalid_input"
            ) from None
        if len(input_text.encode()) > MAX_PAYLOAD_BYTES:
            raise WorkflowError(
                f"execution input is {len(input_text.encode())} bytes, over the "
                f"{MAX_PAYLOAD_BYTES}-byte quota; pass references (object keys) instead",
                code="workflow.invalid_input",
            )
        now = time.time()
        arn = self.execution_arn(machine.name, name)
        # Started while this engine runs: it is claimed in the same write, and runs from what
        # was just written without reading it back.
        owned = self._running
        row = {
            "name": name,
            "state_machine": machine.name,
            "status": RUNNING,
            "input": state_input,
            "started_at": now,
            "redrive_count": 0,
            "owner": self.owner if owned else None,
            "lease_until": now + self.lease_seconds if owned else None,
        }
        event = {
            "execution_name": name,
            "event_id": 1,
            "previous_event_id": 0,
            "type": "ExecutionStarted",
            "timestamp": now,
            "state_name": None,
            "details": {
                "input": input_text,
                "inputDetails": {"truncated": False},
                "roleArn": self._role_arn(),
            },
        }
        try:
            self._writer.write(NewExecution(row, [event]))
        except sa.exc.IntegrityError:
            return self._existing(machine, name, state_input)
        fresh = _Loaded(machine.name, RUNNING, state_input, now, 0, None, 1)
        if not self._submit(name, fresh if owned else None) and owned:
            self._release(name)  # the engine stopped meanwhile: the next one takes it at once
        return ExecutionRef(name, arn, to_datetime(now))

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

    def _existing(self, machine: StateMachine, name: str, state_input: Any) -> ExecutionRef:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(executions).where(executions.c.name == name)).one_or_none()
        if row is None:  # removed between the insert and this read: a retry will go through
            raise ExecutionAlreadyExistsError(f"execution {name!r} is being replaced; try again")
        same = (
            row.state_machine == machine.name and row.status == RUNNING and row.input == state_input
        )
        if not same:
            why = "is closed" if row.status != RUNNING else "has a different input or state machine"
            raise ExecutionAlreadyExistsError(
                f"execution {name!r} already exists and {why}; use another name"
            )
        return ExecutionRef(
            name, self.execution_arn(machine.name, name), to_datetime(row.started_at)
        )

    def _role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/bakusoku-local"

    def _run(self, name: str, entry: _Live) -> None:
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

    def _load(self, name: str) -> _Loaded | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(executions).where(executions.c.name == name)).one_or_none()
            last_id = conn.execute(
                sa.select(sa.func.max(execution_events.c.event_id)).where(
                    execution_events.c.execution_name == name
                )
            ).scalar()
        if row is None:
            return None
        return _Loaded(
            row.state_machine,
            row.status,
            row.input,
            row.started_at,
            row.redrive_count or 0,
            row.checkpoint,
            int(last_id or 0),
        )

    def _run_execution(self, name: str, entry: _Live) -> None:
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
            machine.definition,
            info,
            GuardedInvoker(self.invoker, guard),
            recorder,
            entry.scope,
            time_scale=self.time_scale,
            tokens=self._tokens,
            inline_tasks=True,
        )
        entry.interpreter = interpreter
        entry.guard = guard
        checkpoint = row.checkpoint or {}
        timer = self._execution_timer(machine, row.started_at, entry)
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
                    cause=TIMED_OUT_CAUSE,
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

    def _execution_timer(
        self, machine: StateMachine, started_at: float, entry: _Live
    ) -> threading.Timer | None:
        limit = machine.definition.get("TimeoutSeconds")
        if limit is None:
            return None
        remaining = max(0.0, started_at + limit * self.time_scale - time.time())
        timer = threading.Timer(remaining, self._time_out, args=(entry,))
        timer.daemon = True
        timer.start()
        return timer

    def _time_out(self, entry: _Live) -> None:
        entry.scope.cancel(TIMEOUT)
        try:
            self._end_interrupted(
                entry, TIMED_OUT, "ExecutionTimedOut", "States.Timeout", TIMED_OUT_CAUSE
            )
        except sa.exc.SQLAlchemyError:
            # Still RUNNING in the database: resumed once its thread lets go, it times out again.
            log.exception("could not record the timeout of an execution; it is resumed later")

    def _end_interrupted(
        self, entry: _Live, status: str, event_type: str, error: str | None, cause: str | None
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
        entry: _Live,
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
        entry: _Live,
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

    def stop_execution(self, name: str, error: str | None = None, cause: str | None = None) -> None:
        """StopExecution: a RUNNING execution ends ABORTED with ``error`` and ``cause``."""
        description = self.describe_execution(name)
        if description.status != RUNNING:
            return
        with self._lock:
            entry = self._live.get(name)
        if entry is not None:
            entry.abort = (error, cause)
            entry.scope.cancel(ABORT)
            self._end_interrupted(entry, ABORTED, "ExecutionAborted", error, cause)
            return
        # Not running in this process: close it here. The status changes first, in the same
        # transaction, so an engine running it elsewhere can no longer write and stops.
        now = time.time()
        with self.db.begin() as conn:
            closed = conn.execute(
                executions.update()
                .where(executions.c.name == name, executions.c.status == RUNNING)
                .values(
                    status=ABORTED,
                    error=error,
                    cause=cause,
                    stopped_at=now,
                    owner=None,
                    lease_until=None,
                )
            ).rowcount
            if closed != 1:
                return  # it ended meanwhile
            last_id = int(
                conn.execute(
                    sa.select(sa.func.max(execution_events.c.event_id)).where(
                        execution_events.c.execution_name == name
                    )
                ).scalar()
                or 0
            )
            conn.execute(
                execution_events.insert().values(
                    execution_name=name,
                    event_id=last_id + 1,
                    previous_event_id=last_id,
                    type="ExecutionAborted",
                    timestamp=now,
                    state_name=None,
                    details={k: v for k, v in (("error", error), ("cause", cause)) if v},
                )
            )
        with self._lock:
            listening = bool(self._listeners)
        if listening:
            self._notify(self.describe_execution(name))

    def send_task_success(self, task_token: str, output: Any) -> None:
        """SendTaskSuccess: the ``.waitForTaskToken`` task holding ``task_token`` succeeds.

        ``output`` is JSON text, as the API takes it, or a JSON value. A task token lives while its
        task waits in this process: after a restart the task runs again with a new token.
        """
        self._tokens.succeed(task_token, output)

    def send_task_failure(
        self, task_token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        """SendTaskFailure: the task holding ``task_token`` fails with ``error`` and ``cause``."""
        self._tokens.fail(task_token, error, cause)

    def send_task_heartbeat(self, task_token: str) -> None:
        """SendTaskHeartbeat: restart the HeartbeatSeconds clock of the task holding the token."""
        self._tokens.heartbeat(task_token)

    def redrive_execution(self, name: str) -> ExecutionRef:
        """Restart a FAILED, TIMED_OUT or ABORTED execution from the state where it stopped.

        As in Step Functions, states that succeeded are not run again and the history continues;
        unlike Step Functions, a Parallel or Map state that failed runs all its branches again.
        """
        with self.db.connect() as conn:
            row = conn.execute(sa.select(executions).where(executions.c.name == name)).one_or_none()
        if row is None:
            raise ExecutionDoesNotExistError(f"execution {name!r} does not exist")
        if row.status not in (FAILED, TIMED_OUT, ABORTED):
            raise ExecutionNotRedrivableError(
                f"execution {name!r} is {row.status}; "
                "only FAILED, TIMED_OUT or ABORTED executions can be redriven"
            )
        machine = self._machine(row.state_machine)
        count = (row.redrive_count or 0) + 1
        now = time.time()
        with self.db.begin() as conn:
            updated = conn.execute(
                executions.update()
                .where(executions.c.name == name, executions.c.status == row.status)
                .values(
                    status=RUNNING,
                    output=None,
                    error=None,
                    cause=None,
                    stopped_at=None,
                    redrive_count=count,
                    owner=None,
                    lease_until=None,
                )
            ).rowcount
            if updated != 1:
                raise ExecutionNotRedrivableError(
                    f"execution {name!r} changed while redriving; try again"
                )
            last_id = conn.execute(
                sa.select(sa.func.max(execution_events.c.event_id)).where(
                    execution_events.c.execution_name == name
                )
            ).scalar()
            conn.execute(
                execution_events.insert().values(
                    execution_name=name,
                    event_id=int(last_id or 0) + 1,
                    previous_event_id=int(last_id or 0),
                    type="ExecutionRedriven",
                    timestamp=now,
                    state_name=None,
                    details={"redriveCount": count},
                )
            )
        self._submit(name)
        return ExecutionRef(
            name, self.execution_arn(machine.name, name), to_datetime(row.started_at)
        )

    # ---- reading -------------------------------------------------------------------------------

    def _describe_row(self, row: Any) -> ExecutionDescription:
        return ExecutionDescription(
            name=row.name,
            execution_arn=self.execution_arn(row.state_machine, row.name),
            state_machine_arn=self.state_machine_arn(row.state_machine),
            state_machine_name=row.state_machine,
            status=row.status,
            input=row.input,
            output=row.output,
            error=row.error,
            cause=row.cause,
            start_date=to_datetime(row.started_at),
            stop_date=to_datetime(row.stopped_at) if row.stopped_at is not None else None,
            redrive_count=row.redrive_count or 0,
        )

    def describe_execution(self, name: str) -> ExecutionDescription:
        """DescribeExecution; ExecutionDoesNotExistError when there is no such execution."""
        name = name.rsplit(":", 1)[-1] if name.startswith("arn:") else name
        with self.db.connect() as conn:
            row = conn.execute(sa.select(executions).where(executions.c.name == name)).one_or_none()
        if row is None:
            raise ExecutionDoesNotExistError(f"execution {name!r} does not exist")
        return self._describe_row(row)

    def get_execution_history(self, name: str) -> list[HistoryEvent]:
        """GetExecutionHistory: every event so far, oldest first (pending ones included)."""
        name = name.rsplit(":", 1)[-1] if name.startswith("arn:") else name
        with self._lock:
            entry = self._live.get(name)
        pending = entry.recorder.pending_events() if entry is not None and entry.recorder else []
        with self.db.connect() as conn:
            exists = conn.execute(
                sa.select(executions.c.name).where(executions.c.name == name)
            ).one_or_none()
            if exists is None:
                raise ExecutionDoesNotExistError(f"execution {name!r} does not exist")
            rows = conn.execute(
                sa.select(execution_events)
                .where(execution_events.c.execution_name == name)
                .order_by(execution_events.c.event_id)
            ).all()
        events = [event_from_row(row) for row in rows]
        stored = {event.id for event in events}
        events.extend(event for event in pending if event.id not in stored)
        return events

    def list_executions(
        self,
        state_machine: str | None = None,
        *,
        status_filter: str | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> ExecutionPage:
        """ListExecutions: one page, newest first, of a state machine's executions (or all).

        ``state_machine`` is a name or ARN; ``status_filter`` one of the statuses;
        ``max_results`` 1-1000 (0 means the default, 100). When more executions match, the page's
        ``next_token`` fetches the next page (ValidationError for a bad size, InvalidToken
        for a token that is malformed, older than 24 hours, or issued for other filters).
        """
        if status_filter is not None and status_filter not in STATUSES:
            raise ValidationError(
                f"statusFilter {status_filter!r} is unknown; use one of {', '.join(STATUSES)}"
            )
        if isinstance(max_results, bool) or not isinstance(max_results, int):
            raise ValidationError(f"maxResults must be an integer, got {max_results!r}")
        if not 0 <= max_results <= MAX_PAGE_SIZE:
            raise ValidationError(
                f"maxResults {max_results} is out of range; use 1-{MAX_PAGE_SIZE} "
                f"(0 for the default, {DEFAULT_PAGE_SIZE})"
            )
        size = max_results or DEFAULT_PAGE_SIZE
        machine_name = None
        if state_machine is not None:
            machine_name = (
                state_machine.rsplit(":", 1)[-1]
                if state_machine.startswith("arn:")
                else state_machine
            )
        filters = (machine_name, status_filter)
        ex = executions.c
        query = sa.select(executions).order_by(ex.started_at.desc(), ex.name.desc())
        if next_token is not None:
            after = decode_token(next_token, filters)
            query = query.where(
                sa.or_(
                    ex.started_at < after.started_at,
                    sa.and_(ex.started_at == after.started_at, ex.name < after.name),
                )
            )
        if status_filter is not None:
            query = query.where(ex.status == status_filter)
        if machine_name is not None:
            query = query.where(ex.state_machine == machine_name)
        with self.db.connect() as conn:
            rows = conn.execute(query.limit(size + 1)).all()
        token = None
        if len(rows) > size:
            rows = rows[:size]
            token = encode_token(Cursor(rows[-1].started_at, rows[-1].name), filters)
        return ExecutionPage([self._describe_row(row) for row in rows], token)

    def wait_for(self, name: str, timeout: float = 30.0) -> ExecutionDescription:
        """Block until execution ``name`` ends (else WaitTimeoutError); return its description."""
        deadline = time.monotonic() + timeout
        while True:
            description = self.describe_execution(name)
            if description.status != RUNNING:
                return description
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(
                    f"execution {name!r} is still RUNNING after {timeout} seconds"
                    + ("" if self._running else "; the engine is not started")
                )
            with self._lock:
                self._ended.wait(min(remaining, 0.25))

    def ensure_running(self) -> None:
        """Raise EngineStoppedError unless the engine is started."""
        if not self._running:
            raise EngineStoppedError("the workflow engine is not started; call start() first")
