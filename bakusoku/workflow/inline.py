"""Task calls made by an execution itself, and ending an execution interrupted during one.

A task without ``TimeoutSeconds`` at the top level is called by the execution itself rather than
through a timed helper: on the engine's hub the call runs in a helper thread while the
execution's greenlet is suspended (see hub.py), elsewhere in the caller's thread. Either way
nothing in the execution can end it while the call runs. So when StopExecution or the
execution's TimeoutSeconds interrupts such a call, the interrupting thread takes the execution
over (``CallGuard.take``) and ends it; the execution, once the call returns, writes nothing more.
"""

from __future__ import annotations

import threading
from typing import Any

from bakusoku.workflow.cancel import CancelScope
from bakusoku.workflow.hub import blocking
from bakusoku.workflow.invoker import TaskInvoker


class CallGuard:
    """Whether an execution's thread is in a task call, and whether another thread took over."""

    def __init__(self, scope: CancelScope) -> None:
        self.scope = scope
        self.lock = threading.Lock()
        # The thread running the execution (the hub's): created there. Calls from other
        # threads (Parallel branches, Map iterations) are not the execution's own.
        self.thread = threading.get_ident()
        self.calling = False
        self.taken = False

    def take(self) -> bool:
        """True, once, when the execution's thread is in a call and the caller is to end it."""
        with self.lock:
            if not self.calling or self.taken:
                return False
            self.taken = True
            return True


class GuardedInvoker:
    """``invoker``, marking the calls made in the execution's own thread on ``guard``."""

    def __init__(self, invoker: TaskInvoker, guard: CallGuard) -> None:
        self.invoker = invoker
        self.guard = guard

    def invoke(
        self,
        resource: str,
        payload: Any,
        *,
        timeout_seconds: float | None,
        execution_name: str,
        state_name: str,
    ) -> Any:
        guard = self.guard
        inline = threading.get_ident() == guard.thread
        if inline:
            with guard.lock:
                guard.scope.check()  # interrupted already: no call, nobody to take it over
                guard.calling = True
        try:
            # On the hub, the call runs in a helper thread while other executions go on.
            return blocking(
                lambda: self.invoker.invoke(
                    resource,
                    payload,
                    timeout_seconds=timeout_seconds,
                    execution_name=execution_name,
                    state_name=state_name,
                )
            )
        finally:
            if inline:
                with guard.lock:
                    guard.calling = False
