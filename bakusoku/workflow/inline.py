"""Task calls made by an execution itself, and ending an execution interrupted during one.

A task without ``TimeoutSeconds`` at the top level is called by the execution itself rather than
through a timed helper: on the engine's hub the call runs in a helper thread while the
execution's greenlet is suspended (see hub.py), elsewhere in the caller's thread. Either way
nothing in the execution can end it while the call runs. So when StopExecution or the
execution's TimeoutSeconds interrupts such a call, the interrupting thread takes the execution
over (``CallGuard.take``) and ends it; the execution, once the call returns, writes nothing more.
The interpreter makes such a call through ``CallGuard.call`` when the engine gives it a guard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from bakusoku.workflow.cancel import CancelScope
from bakusoku.workflow.hub import blocking

T = TypeVar("T")


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

    def call(self, task_call: Callable[[], T]) -> T:
        """Run ``task_call`` as the execution's own call: marked ``calling`` while it runs.

        On the hub the call runs in a helper thread while other executions go on. Refused
        (Interrupted) when the execution was interrupted before the call began: no call, and
        nobody to take the execution over.
        """
        with self.lock:
            self.scope.check()
            self.calling = True
        try:
            return blocking(task_call)
        finally:
            with self.lock:
                self.calling = False
