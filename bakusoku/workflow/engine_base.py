"""What every part of the workflow engine shares: its settings, its live executions, its ARNs.

``EngineBase`` declares the state the public API (engine.py), the execution life cycle
(lifecycle.py, endings.py) and the queries (queries.py) work on; ``WorkflowEngine.__init__`` sets
it. ``LoadedExecution`` is what running an execution needs of its row; ``LiveExecution`` is one
execution this engine runs (or is about to).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bakusoku import arns
from bakusoku.workflow.callbacks import TaskTokens
from bakusoku.workflow.cancel import CancelScope
from bakusoku.workflow.history import ExecutionRecorder
from bakusoku.workflow.hub import Hub
from bakusoku.workflow.inline import CallGuard
from bakusoku.workflow.interpreter import Interpreter
from bakusoku.workflow.invoker import TaskInvoker
from bakusoku.workflow.model import ExecutionDescription, StateMachine
from bakusoku.workflow.revisions import DefinitionStore
from bakusoku.workflow.writer import GroupWriter


@dataclass(frozen=True)
class LoadedExecution:
    """What running an execution needs of its row."""

    state_machine: str
    status: str
    input: Any
    started_at: float
    redrive_count: int
    checkpoint: dict[str, Any] | None
    last_event_id: int
    # The definition it started with (None: started by a release that did not record it).
    definition_revision: str | None = None


@dataclass
class LiveExecution:
    recorder: ExecutionRecorder | None
    scope: CancelScope
    # Set once its run is over (or was dropped before it began).
    done: threading.Event = field(default_factory=threading.Event)
    abort: tuple[str | None, str | None] = (None, None)  # StopExecution's error and cause
    # An execution this engine has just started and claimed: nothing to read back.
    fresh: LoadedExecution | None = None
    # Its end is being written by another thread (``_end_later``).
    ending: bool = False
    # Set while it runs: a task called in its thread, and what ending it from elsewhere needs.
    guard: CallGuard | None = None
    interpreter: Interpreter | None = None


class EngineBase:
    """The engine's settings and live state (set by ``WorkflowEngine.__init__``), and its ARNs."""

    RESUME_AFTER_ERROR_SECONDS = 5.0

    db: sa.Engine
    invoker: TaskInvoker
    region: str
    account: str
    time_scale: float
    max_concurrent_executions: int
    lease_seconds: float
    owner: str
    _machines: dict[str, StateMachine]
    _live: dict[str, LiveExecution]
    _listeners: list[Callable[[ExecutionDescription], None]]
    _lock: threading.Lock
    _ended: threading.Condition
    _hub: Hub | None
    _root: CancelScope
    _running: bool
    _tokens: TaskTokens
    _maintainer: threading.Thread | None
    _maintain_stop: threading.Event
    _writer: GroupWriter
    _definitions: DefinitionStore

    def state_machine_arn(self, name: str) -> str:
        return arns.state_machine_arn(self.region, self.account, name)

    def execution_arn(self, state_machine: str, name: str) -> str:
        return arns.execution_arn(self.region, self.account, state_machine, name)

    def _role_arn(self) -> str:
        return arns.iam_role_arn(self.account, "bakusoku-local")

    def _submit(self, name: str, fresh: LoadedExecution | None = None) -> bool:
        """Run execution ``name`` on the hub (the execution life cycle, in lifecycle.py)."""
        raise NotImplementedError
