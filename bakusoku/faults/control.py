"""The faults in force, shared by every process of one deployment through a file in its data dir.

The main process writes ``DATA_DIR/faults.json`` (an exclusive ``flock`` around each change, then an
atomic rename); every process reads it, at most every ``REFRESH_SECONDS``, when it changed. The
file holds each fault with its expiry: a reader ignores a fault past it, so a fault ends on time
even when the command that injected it died and nobody removes it (its lease ran out).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bakusoku.config import Settings
from bakusoku.faults.model import Fault, FaultError, new_fault

FILE_NAME = "faults.json"
REFRESH_SECONDS = 0.05  # how stale a process's view of the faults may be


class FaultControl:
    """Reads (every process) and changes (the main process) the faults of one data directory."""

    def __init__(
        self,
        data_dir: Path,
        *,
        max_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self.path = data_dir / FILE_NAME
        self.max_seconds = max_seconds
        self._clock = clock
        self._chance = chance  # in [0, 1): a fault of percentage p hits when below p / 100
        self._lock = threading.Lock()
        self._checked = -1.0
        self._stamp: tuple[int, int, int] | None = None
        self._faults: tuple[Fault, ...] = ()

    # -- reading ---------------------------------------------------------------------------------

    def faults(self) -> list[Fault]:
        """The faults in force now."""
        now = self._clock()
        return [f for f in self._load() if f.in_force(now)]

    def hit(self, kind: str, target: str = "") -> Fault | None:
        """A fault of ``kind`` in force on ``target`` that hits this call (its percentage), or None."""
        for fault in self.faults():
            if fault.kind == kind and fault.acts_on(target) and self._hits(fault.percentage):
                return fault
        return None

    def _hits(self, percentage: float) -> bool:
        return percentage >= 100 or self._chance() * 100 < percentage

    def _load(self) -> tuple[Fault, ...]:
        mono = time.monotonic()
        with self._lock:
            if mono - self._checked < REFRESH_SECONDS:
                return self._faults
            self._checked = mono
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._faults = None, ()
                return ()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                self._faults = _parse(self.path.read_bytes())
                self._stamp = stamp
            return self._faults

    # -- changing --------------------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        duration_seconds: float,
        *,
        target: str = "",
        percentage: float = 100.0,
        latency_ms: int | None = None,
        interval_seconds: float | None = None,
    ) -> Fault:
        """Put a fault in force for ``duration_seconds``; FaultError when a value is out of range."""
        fault = new_fault(
            kind,
            duration_seconds,
            now=self._clock(),
            max_seconds=self.max_seconds,
            target=target,
            percentage=percentage,
            latency_ms=latency_ms,
            interval_seconds=interval_seconds,
        )
        with self._changing() as current:
            current.append(fault)
        return fault

    def remove(self, fault_id: str) -> bool:
        """End one fault now; False when no fault in force has that id."""
        with self._changing() as current:
            kept = [f for f in current if f.id != fault_id]
            found = len(kept) != len(current)
            current[:] = kept
        return found

    def clear(self) -> int:
        """End every fault now; how many were in force."""
        with self._changing() as current:
            ended = len(current)
            current.clear()
        return ended

    @contextlib.contextmanager
    def _changing(self) -> Iterator[list[Fault]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                raw = b""
            now = self._clock()
            current = [f for f in _parse(raw) if f.expires_at > now]  # drop those that ended
            yield current
            _write(self.path, {"faults": [f.as_dict() for f in current]})
            with self._lock:
                self._checked = -1.0  # this process sees its own change at once
        finally:
            os.close(lock_fd)


def _parse(raw: bytes) -> tuple[Fault, ...]:
    if not raw.strip():
        return ()
    try:
        data: Any = json.loads(raw)
        return tuple(Fault.from_dict(item) for item in data["faults"])
    except (ValueError, KeyError, TypeError) as exc:
        raise FaultError(
            f"the fault file is damaged ({exc}); remove it to end every fault: "
            "`bakusoku chaos stop` or delete DATA_DIR/faults.json"
        ) from exc


def _write(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    os.replace(temporary, path)


def fault_control(settings: Settings) -> FaultControl | None:
    """The faults of a ``bakusoku up`` deployment's data directory; None where none are injected.

    Only the embedded deployment reads faults from its data directory (``object_store: local``):
    on AWS the same faults come from AWS FIS. ``fault_injection: false`` turns them off.
    """
    if not settings.fault_injection or settings.object_store != "local":
        return None
    return FaultControl(settings.data_dir, max_seconds=settings.fault_max_seconds)
