"""``workers.kill``: the main process kills its own worker processes while the fault is in force.

Every ``interval_seconds`` of each such fault, each live worker of the fault's function (of every
function when it names none) is killed with SIGKILL, with the fault's percentage as its chance, as
a crashed sandbox or an out-of-memory kill would end it. The runtime reports the invoke that was
running as ``Runtime.ExitError`` and the pipeline's Retry rules run it again in a new worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable

from bakusoku.faults import FaultControl

log = logging.getLogger("bakusoku.chaos")

TICK_SECONDS = 0.1


class WorkerKiller:
    """A thread that carries out the ``workers.kill`` faults of ``faults``."""

    def __init__(
        self,
        faults: FaultControl,
        worker_pids: Callable[[str], list[int]],
        *,
        chance: Callable[[], float] = random.random,
        kill: Callable[[int], None] | None = None,
    ) -> None:
        self._faults = faults
        self._worker_pids = worker_pids
        self._chance = chance
        self._kill = kill or _sigkill
        self._last: dict[str, float] = {}  # fault id → when it last killed
        self.killed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="bakusoku-worker-killer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.step(time.monotonic())
            except Exception:  # a damaged fault file must not end the deployment
                log.exception("could not carry out the workers.kill faults")

    def step(self, now: float) -> list[int]:
        """Kill what the faults in force ask for at monotonic time ``now``; the pids killed."""
        killed: list[int] = []
        faults = [f for f in self._faults.faults() if f.kind == "workers.kill"]
        self._last = {k: v for k, v in self._last.items() if k in {f.id for f in faults}}
        for fault in faults:
            last = self._last.get(fault.id)
            if last is not None and now - last < fault.interval_seconds:
                continue
            self._last[fault.id] = now
            for pid in self._worker_pids(fault.target):
                if fault.percentage >= 100 or self._chance() * 100 < fault.percentage:
                    self._kill(pid)
                    killed.append(pid)
            if killed:
                log.warning(
                    "chaos: killed %d worker process(es) of %s (fault %s)",
                    len(killed),
                    fault.target or "every function",
                    fault.id,
                )
        self.killed += len(killed)
        return killed


def _sigkill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
