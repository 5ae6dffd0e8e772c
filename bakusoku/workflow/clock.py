"""The clocks executions wait on: real time, or fast-forwarded over waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bakusoku.workflow.cancel import CancelScope


class Clock:
    """Wall-clock time as an execution sees it; waits are interruptible by a cancel scope.

    The real clock; ``FastForwardClock`` skips waits instead of sleeping through them.
    """

    def now(self) -> float:
        """Epoch seconds."""
        return time.time()

    def sleep(self, scope: CancelScope, seconds: float) -> None:
        """Wait ``seconds`` (a Wait state, a retry interval); Interrupted when ``scope`` ends."""
        scope.sleep(seconds)

    def offset(self) -> float:
        """This thread's lead over real time (0 for the real clock)."""
        return 0.0

    def set_offset(self, offset: float) -> None:
        """Start this thread at ``offset`` (a branch or iteration starts where its state is)."""


class FastForwardClock(Clock):
    """A clock that jumps over every wait at once, keeping the timestamps consistent.

    Each thread (a Parallel branch, a Map iteration) keeps its own lead over real time: branches
    that wait side by side advance separately, and their state resumes at the latest of them.
    ``deadline`` (epoch seconds on this clock) ends a wait that would pass it: the time jumps to
    the deadline and ``on_deadline`` is called (the execution's TimeoutSeconds).
    """

    def __init__(
        self, deadline: float | None = None, on_deadline: Callable[[], None] | None = None
    ) -> None:
        self._local = threading.local()
        self.deadline = deadline
        self.on_deadline = on_deadline

    def offset(self) -> float:
        return float(getattr(self._local, "offset", 0.0))

    def set_offset(self, offset: float) -> None:
        self._local.offset = offset

    def now(self) -> float:
        return time.time() + self.offset()

    def sleep(self, scope: CancelScope, seconds: float) -> None:
        scope.check()
        if seconds <= 0:
            return
        now = self.now()
        if self.deadline is not None and now + seconds >= self.deadline:
            self.set_offset(self.offset() + max(0.0, self.deadline - now))
            if self.on_deadline is not None:
                self.on_deadline()
        else:
            self.set_offset(self.offset() + seconds)
        scope.check()


REAL_CLOCK = Clock()
