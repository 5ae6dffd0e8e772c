"""Cancellation scopes: engine stop, execution abort and sibling-branch failure interrupt waits."""

from __future__ import annotations

import threading

from bakusoku.workflow.hub import blocking

STOP = "stop"  # the engine is stopping: leave the execution RUNNING so it resumes on next start
ABORT = "abort"  # a sibling branch or iteration failed, or the execution was aborted
TIMEOUT = "timeout"  # the execution ran past its TimeoutSeconds
LOST = "lost"  # the execution was aborted or taken over elsewhere: stop without writing


class Interrupted(Exception):
    """Raised inside an execution when its scope is cancelled; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CancelScope:
    """A cancellable scope; cancelling it cancels every child scope and wakes every waiter."""

    def __init__(self, parent: CancelScope | None = None) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._children: list[CancelScope] = []
        self._wakers: set[threading.Event] = set()
        self.reason: str | None = None
        self._parent = parent
        if parent is not None:
            parent._adopt(self)

    def close(self) -> None:
        """Detach from the parent when this scope's work is over; long-lived parents stay small."""
        parent = self._parent
        if parent is not None:
            with parent._lock:
                if self in parent._children:
                    parent._children.remove(self)
            self._parent = None

    def _adopt(self, child: CancelScope) -> None:
        with self._lock:
            self._children.append(child)
            reason = self.reason
        if reason is not None:
            child.cancel(reason)

    def child(self) -> CancelScope:
        return CancelScope(self)

    def cancel(self, reason: str) -> None:
        with self._lock:
            if self.reason is not None:
                return
            self.reason = reason
            children = list(self._children)
            wakers = list(self._wakers)
        self._event.set()
        for waker in wakers:
            waker.set()
        for child in children:
            child.cancel(reason)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise Interrupted when this scope has been cancelled."""
        if self.reason is not None:
            raise Interrupted(self.reason)

    def sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds``; raise Interrupted as soon as the scope is cancelled."""
        if seconds > 0:
            blocking(lambda: self._event.wait(seconds))
        self.check()

    def wait_for(self, event: threading.Event, timeout: float | None) -> bool:
        """Wait until ``event`` is set (True) or ``timeout`` passes (False); raise if cancelled."""
        with self._lock:
            self._wakers.add(event)
        try:
            if self.reason is None:
                blocking(lambda: event.wait(timeout))
        finally:
            with self._lock:
                self._wakers.discard(event)
        self.check()
        return event.is_set()
