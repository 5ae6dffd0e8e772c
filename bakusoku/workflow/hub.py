"""The hub: executions run as greenlets on one thread, so a wait suspends them instead of a thread.

An execution mostly waits: for the write of its history before each task, for the task, for a
Wait state. With a thread per execution, every wait ends in a thread hand-off, and with many
executions running those hand-offs (and the interpreter lock passed along with each) cost more
than the engine's own work. Here every running execution is a greenlet on the hub's thread:

* a write it waits for is queued, the greenlet suspended, and once every ready greenlet has run
  to its next wait the hub commits the whole queue in one transaction (see ``GroupWriter``);
* a call that blocks (a task, a Wait, joining Parallel branches) runs in a helper thread through
  ``blocking``, and the greenlet resumes with its result.

Code that is not running in a hub greenlet (the API's threads, Parallel branches) is untouched:
``blocking(fn)`` there is just ``fn()``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import greenlet

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Task(greenlet.greenlet):
    """A greenlet the hub runs: it knows its hub."""

    hub: Hub


class Hub:
    """Runs up to ``max_running`` functions at once as greenlets on one thread.

    ``after_run`` is called on the hub's thread after each round of greenlets has run to its
    next wait (the engine commits the writes they queued there).
    """

    def __init__(
        self,
        max_running: int,
        *,
        after_run: Callable[[], None] | None = None,
        name: str = "workflow-hub",
    ) -> None:
        self.max_running = max_running
        self.after_run = after_run
        self.name = name
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._inbox: collections.deque[tuple[Any, ...]] = collections.deque()
        self._waiting: collections.deque[tuple[Callable[..., None], tuple[Any, ...]]] = (
            collections.deque()
        )
        self._running = 0
        self._stopping = False
        self._idle = True  # the thread waits for work
        self._settled = threading.Condition(self._lock)
        self._refuse: Callable[[], BaseException] | None = None
        self._deferred: list[Callable[[], None]] = []  # only touched on the hub's thread
        self._thread: threading.Thread | None = None
        # Blocking calls (tasks, Waits) of suspended greenlets: at most one per running greenlet.
        self._helpers = ThreadPoolExecutor(max_workers=max_running + 4, thread_name_prefix="call")

    # ---- any thread --------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def drop_waiting(self) -> list[tuple[Any, ...]]:
        """Forget the functions not begun yet; their arguments."""
        with self._lock:
            dropped = [args for _fn, args in self._waiting]
            self._waiting.clear()
        return dropped

    def quiesce(self, refuse: Callable[[], BaseException], timeout: float) -> bool:
        """Refuse every blocking call from now on (``refuse()`` is raised in the greenlet instead)
        and wait until each greenlet that can run has run to its next wait; False on timeout.

        A stopping engine lets executions whose task has just returned record it, instead of
        dropping what they did and running the task again after the restart.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            self._refuse = refuse
            if self._thread is None or self._thread is threading.current_thread():
                return True
            self._inbox.append(())  # a round after this point, at the least
            self._idle = False
            self._wake.notify()
            while not self._idle:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._settled.wait(remaining)
        return True

    def stop(self) -> None:
        """Start nothing more; the thread leaves once the running greenlets have ended.

        Not waited for: a greenlet suspended in a call that never returns keeps it.
        """
        with self._lock:
            self._stopping = True
            self._waiting.clear()
            self._wake.notify()

    def spawn(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` in a greenlet of its own, once fewer than ``max_running`` run."""
        with self._lock:
            if self._running < self.max_running:
                self._running += 1
                self._inbox.append((fn, args))
                self._wake.notify()
            else:
                self._waiting.append((fn, args))

    def resume(
        self, task: greenlet.greenlet, value: Any = None, error: BaseException | None = None
    ) -> None:
        """Continue a suspended greenlet with ``value`` (or raise ``error`` in it)."""
        with self._lock:
            self._inbox.append((task, value, error))
            self._wake.notify()

    def poke(self) -> None:
        """Run ``after_run`` soon (something it handles was queued)."""
        with self._lock:
            self._inbox.append(())
            self._wake.notify()

    # ---- inside a hub greenlet -----------------------------------------------------------------

    def suspend(self) -> Any:
        """Give the thread back to the hub until ``resume`` is called for this greenlet."""
        task = greenlet.getcurrent()
        assert isinstance(task, _Task) and task.hub is self, "suspend outside the hub's greenlets"
        return task.parent.switch()

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a helper thread, this greenlet suspended until it returns."""
        task = greenlet.getcurrent()
        if self._refuse is not None:
            raise self._refuse()

        def run() -> None:
            try:
                value = fn()
            except BaseException as exc:  # handed to the greenlet, raised there
                self.resume(task, None, exc)
            else:
                self.resume(task, value)

        self._helpers.submit(run)
        value: T = self.suspend()
        return value

    # ---- the hub's thread ----------------------------------------------------------------------

    def on_thread(self) -> bool:
        """Whether the caller runs on the hub's thread (in a greenlet or not)."""
        return threading.current_thread() is self._thread

    def defer(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` in a helper thread once this round is over (called on the hub's thread).

        For work that may block, like the listeners of ended executions: the hub's thread
        stays free for the executions.
        """
        self._deferred.append(fn)

    def _loop(self) -> None:
        hub_greenlet = greenlet.getcurrent()
        while True:
            with self._lock:
                while not self._inbox:
                    if self._stopping and self._running == 0:
                        self._thread = None
                        self._helpers.shutdown(wait=False)
                        self._idle = True
                        self._settled.notify_all()
                        return
                    self._idle = True
                    self._settled.notify_all()
                    self._wake.wait()
                self._idle = False
                items = list(self._inbox)
                self._inbox.clear()
            for item in items:
                if not item:
                    continue
                if len(item) == 2:
                    fn, args = item
                    task = _Task(run=self._body(fn), parent=hub_greenlet)
                    task.hub = self
                    self._switch(task, args, None, first=True)
                else:
                    task, value, error = item
                    self._switch(task, value, error)
            if self.after_run is not None:
                try:
                    self.after_run()
                except Exception:
                    log.exception("the hub's after-run step failed")
            if self._deferred:
                self._helpers.submit(_run_all, self._deferred)
                self._deferred = []

    def _body(self, fn: Callable[..., None]) -> Callable[..., None]:
        def body(*args: Any) -> None:
            try:
                fn(*args)
            finally:
                self._finished()

        return body

    def _switch(
        self,
        task: greenlet.greenlet,
        value: Any,
        error: BaseException | None,
        *,
        first: bool = False,
    ) -> None:
        try:
            if first:
                task.switch(*value)  # its arguments
            elif error is not None:
                task.throw(error)
            else:
                task.switch(value)
        except BaseException:
            log.exception("a greenlet of the workflow hub failed")

    def _finished(self) -> None:
        with self._lock:
            if self._waiting and not self._stopping:
                self._inbox.append(self._waiting.popleft())
            else:
                self._running -= 1


def _run_all(functions: list[Callable[[], None]]) -> None:
    for fn in functions:
        try:
            fn()
        except Exception:
            log.exception("a deferred call of the workflow hub failed")


def current_hub() -> Hub | None:
    """The hub running the calling code, or None outside a hub greenlet."""
    task = greenlet.getcurrent()
    return task.hub if isinstance(task, _Task) else None


def blocking(fn: Callable[[], T]) -> T:
    """``fn()``; in a hub greenlet, in a helper thread while the hub runs other greenlets."""
    hub = current_hub()
    return fn() if hub is None else hub.call(fn)
