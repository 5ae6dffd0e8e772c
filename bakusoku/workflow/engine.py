"""The workflow engine's public API: state machines, executions, SendTask*, start and stop.

``WorkflowEngine`` is what callers use (see README.md for how each call maps to the Step Functions
API). Behind it, the execution life cycle (claim, lease, resume, run) is lifecycle.py, how an
execution ends is endings.py, and DescribeExecution, GetExecutionHistory and ListExecutions are
queries.py; the values it returns are model.py.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from bakusoku import arns
from bakusoku.utc import to_datetime
from bakusoku.workflow import jsontext
from bakusoku.workflow.callbacks import TaskTokens
from bakusoku.workflow.cancel import ABORT, STOP, CancelScope, Interrupted
from bakusoku.workflow.definition import load_definition
from bakusoku.workflow.engine_base import LiveExecution, LoadedExecution
from bakusoku.workflow.errors import (
    MAX_PAYLOAD_BYTES,
    EngineStoppedError,
    ExecutionDoesNotExistError,
    ExecutionNotRedrivableError,
    StateMachineDoesNotExistError,
    WorkflowError,
)
from bakusoku.workflow.hub import Hub
from bakusoku.workflow.invoker import TaskInvoker
from bakusoku.workflow.lifecycle import ExecutionLifecycle
from bakusoku.workflow.model import (
    ABORTED,
    DEFAULT_PAGE_SIZE,
    FAILED,
    MAX_PAGE_SIZE,
    RUNNING,
    STATUSES,
    SUCCEEDED,
    TIMED_OUT,
    ExecutionDescription,
    ExecutionPage,
    ExecutionRef,
    StateMachine,
    WaitTimeoutError,
    validate_name,
)
from bakusoku.workflow.revisions import DefinitionStore, revision_of
from bakusoku.workflow.tables import executions
from bakusoku.workflow.writer import GroupWriter, NewExecution

log = logging.getLogger(__name__)


class WorkflowEngine(ExecutionLifecycle):
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
        self._live: dict[str, LiveExecution] = {}
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
        self._definitions = DefinitionStore(db)

    # ---- state machines ------------------------------------------------------------------------

    def register_state_machine(
        self,
        name: str,
        definition: str | Mapping[str, Any],
        substitutions: Mapping[str, str] | None = None,
    ) -> str:
        """Validate and register (or replace) a state machine; returns its ARN.

        New executions run on this definition. Executions of it left RUNNING by a previous
        process resume if the engine is started, each on the definition it started with (every
        registered definition is kept: see revisions.py).
        """
        validate_name(name, "state machine")
        loaded = load_definition(definition, substitutions)
        machine = StateMachine(name, self.state_machine_arn(name), loaded, revision_of(loaded))
        self._definitions.register(name, machine.revision, loaded)
        with self._lock:
            self._machines[name] = machine
            running = self._running
        if running:
            self._resume(name)
        return machine.arn

    def _machine(self, name_or_arn: str) -> StateMachine:
        name = arns.name_of(name_or_arn)
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
        # The definition is stored before any execution names it (once; see revisions.py).
        self._definitions.ensure_saved(machine.name, machine.revision)
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
            "definition_revision": machine.revision,
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
        fresh = LoadedExecution(
            machine.name, RUNNING, state_input, now, 0, None, 1, machine.revision
        )
        if not self._submit(name, fresh if owned else None) and owned:
            self._release(name)  # the engine stopped meanwhile: the next one takes it at once
        return ExecutionRef(name, arn, to_datetime(now))

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
        self._abort_elsewhere(name, error, cause)

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
        self._reopen(name, row.status, count)
        self._submit(name)
        return ExecutionRef(
            name, self.execution_arn(machine.name, name), to_datetime(row.started_at)
        )

    def ensure_running(self) -> None:
        """Raise EngineStoppedError unless the engine is started."""
        if not self._running:
            raise EngineStoppedError("the workflow engine is not started; call start() first")


__all__ = [
    "ABORTED",
    "DEFAULT_PAGE_SIZE",
    "FAILED",
    "MAX_PAGE_SIZE",
    "RUNNING",
    "STATUSES",
    "SUCCEEDED",
    "TIMED_OUT",
    "ExecutionDescription",
    "ExecutionPage",
    "ExecutionRef",
    "StateMachine",
    "WaitTimeoutError",
    "WorkflowEngine",
    "validate_name",
]
