"""A ceiling on database connections shared by the worker processes of one machine.

The gate is ``slots`` lock files in one directory. Opening a connection first takes an exclusive
``flock`` on a free slot file and closing it lets go, so at most ``slots`` connections exist across
all processes that share the directory. The kernel drops the locks of a process that dies, so a
crashed worker never leaks a slot.

It bounds only processes that share the directory: ``bakusoku up``'s workers on one machine (the
local stand-in for RDS Proxy). On AWS every Lambda execution environment has its own ``/tmp``, so a
gate there would bound nothing across environments or functions: the template turns it off
(``db_max_connections`` 0), and what bounds the connections is each function's reserved
concurrency times the connections one environment opens, or an RDS Proxy in front of the database
(``bakusoku.deploy.concurrency`` reports the bound of a stack).
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from pathlib import Path

from bakusoku.db.errors import DatabaseBusyError


class ConnectionGate:
    """At most ``slots`` holders at a time across processes; ``acquire`` waits up to ``timeout``."""

    def __init__(self, directory: Path, slots: int, *, timeout: float = 10.0) -> None:
        if slots < 1:
            raise ValueError("a connection gate needs at least one slot")
        self.directory = directory
        self.slots = slots
        self.timeout = timeout
        self._lock = threading.Lock()
        self._held: dict[int, int] = {}  # slot → file descriptor, for this process
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, slot: int) -> Path:
        return self.directory / f"slot-{slot:04d}.lock"

    def _try(self, slot: int) -> bool:
        with self._lock:
            if slot in self._held:
                return False
            fd = os.open(self._path(slot), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._held[slot] = fd
            return True

    def acquire(self) -> int:
        """Take a free slot and return its number; DatabaseBusyError if none frees up in time."""
        deadline = time.monotonic() + self.timeout
        pause = 0.002
        while True:
            order = list(range(self.slots))
            random.shuffle(order)
            for slot in order:
                if self._try(slot):
                    return slot
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DatabaseBusyError(
                    f"all {self.slots} database connection slots stayed in use for "
                    f"{self.timeout:g} s; the task is retried, and if this persists raise "
                    "db_max_connections (within the server's max_connections) or db_wait_seconds"
                )
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.05)

    def release(self, slot: int) -> None:
        """Give a slot back (once; releasing a slot not held does nothing)."""
        with self._lock:
            fd = self._held.pop(slot, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def in_use(self) -> int:
        """How many slots are held right now, by any process (a snapshot, for reports and tests)."""
        taken = 0
        for slot in range(self.slots):
            with self._lock:
                if slot in self._held:
                    taken += 1
                    continue
            fd = os.open(self._path(slot), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                taken += 1
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        return taken


def deployment_gate(
    data_dir: Path, max_connections: int, wait_seconds: float
) -> ConnectionGate | None:
    """The gate the worker processes using ``data_dir`` share on this machine (None: no ceiling)."""
    if max_connections <= 0:
        return None
    return ConnectionGate(data_dir / "db-slots", max_connections, timeout=wait_seconds)
