"""Daemon threads for task calls, kept for reuse.

A task is called in a helper thread so that its timeout, a StopExecution or an engine stop never
waits on it. Starting a thread per call costs more than calling an in-process function (and a
hand-off more than the reuse of a waiting thread), so finished helpers wait for the next call, and
leave after a while without one. A call that never returns keeps its helper, as a thread of its
own would be kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

IDLE_SECONDS = 30.0


class _Helper:
    def __init__(self, pool: TaskThreads) -> None:
        self.pool = pool
        self.work: Callable[[], None] | None = None
        self.wake = threading.Lock()
        self.wake.acquire()  # released when work is given
        thread = threading.Thread(target=self._loop, name="task", daemon=True)
        thread.start()

    def give(self, work: Callable[[], None]) -> None:
        self.work = work
        self.wake.release()

    def _loop(self) -> None:
        while True:
            if not self.wake.acquire(timeout=self.pool.idle_seconds):
                if self.pool.retire(self):
                    return
                self.wake.acquire()  # given work while retiring: take it
            work, self.work = self.work, None
            if work is not None:
                work()  # never raises: the caller's function keeps its own outcome
            self.pool.release(self)


class TaskThreads:
    """Runs functions in daemon threads, reusing idle ones."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._idle: list[_Helper] = []

    def run(self, work: Callable[[], None]) -> None:
        """Start ``work()`` in a helper thread; ``work`` must not raise."""
        with self._lock:
            helper = self._idle.pop() if self._idle else None
        if helper is None:
            helper = _Helper(self)
        helper.give(work)

    def release(self, helper: _Helper) -> None:
        with self._lock:
            self._idle.append(helper)

    def retire(self, helper: _Helper) -> bool:
        """Remove an idle helper; False when it was just handed work."""
        with self._lock:
            if helper in self._idle:
                self._idle.remove(helper)
                return True
            return False

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)


TASK_THREADS = TaskThreads()
