"""Wake-up datagrams on loopback: one process tells another that work is waiting in the database
(the store process: an event in the outbox; a worker: an execution for the engine to take).

The database is the source of truth and the woken side also polls it; a datagram only cuts the
wait, so losing one costs at most one poll interval and never any work.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class WakeupListener:
    """Receives wake-ups on a loopback UDP port and calls ``on_wake`` for each."""

    def __init__(self, on_wake: Callable[[], None], name: str = "wakeup") -> None:
        self._on_wake = on_wake
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.5)
        self.port: int = self._socket.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(2)
        self._socket.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._socket.recv(16)
            except (TimeoutError, OSError):
                continue
            self._on_wake()


class WakeupSender:
    """Sends best-effort wake-ups to a :class:`WakeupListener` port (never blocks, never raises)."""

    def __init__(self, port: int) -> None:
        self._address = ("127.0.0.1", port)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)

    def __call__(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.sendto(b"1", self._address)
