"""A large PUT's body received, hashed and written by one worker thread, as a file server would.

Read through the event loop, a 5 MB body costs dozens of read callbacks and, per megabyte, a
wake of the request's task and two thread hops to hash and write it; under 16 concurrent
uploads that machinery cost about as much CPU as the kernel's copy of the bytes. Here the
connection's socket is lent to the worker thread that stores the upload: it fills one
page-aligned buffer with ``recv_into`` calls that wait (releasing the GIL), hands each full
buffer to the writer, and fills it again; the commit follows in the same thread. The event
loop only waits for the result, then takes the connection back (``storage.direct_body``).

The thread reads a duplicate of the socket's descriptor, never past the declared length, and
never changes the descriptor's non-blocking mode (the event loop relies on it): each read
waits with a timeout instead, from the body's deadline.
"""

from __future__ import annotations

import mmap
import os
import socket
from collections.abc import Callable, Iterator

from bakusoku.storage.errors import ClientDisconnected


class BodyTimeout(Exception):
    """The rest of the body did not arrive by its deadline."""


class BlockingBody:
    """The rest of one body, read in the calling thread into ``buffer`` (its first ``filled``
    bytes are already body bytes)."""

    def __init__(self, fd: int, buffer: mmap.mmap, filled: int, remaining: int) -> None:
        self._socket = socket.socket(fileno=os.dup(fd))
        self.buffer = buffer
        self._filled = filled
        self.remaining = remaining
        self.received = filled

    def chunks(self, seconds_left: Callable[[int], float]) -> Iterator[memoryview]:
        """Whole buffers of the body, in order: each is refilled once the next one is asked for.

        ``seconds_left(received)`` says how long the next read may wait; past it, BodyTimeout.
        A client that leaves raises :class:`ClientDisconnected`.
        """
        view = memoryview(self.buffer)
        while self._filled or self.remaining:
            end = min(len(view), self._filled + self.remaining)
            while self._filled < end:
                self._read(view[self._filled : end], seconds_left)
            with view[: self._filled] as chunk:
                yield chunk
            self._filled = 0

    def _read(self, into: memoryview, seconds_left: Callable[[int], float]) -> None:
        timeout = seconds_left(self.received)
        if timeout <= 0:
            raise BodyTimeout
        self._socket.settimeout(timeout)  # (never None: that would make the loop's fd blocking)
        try:
            count = self._socket.recv_into(into)
        except TimeoutError:
            raise BodyTimeout from None
        except OSError as exc:
            raise ClientDisconnected from exc
        if not count:
            raise ClientDisconnected
        self._filled += count
        self.remaining -= count
        self.received += count

    def close(self) -> None:
        """Close the duplicate descriptor (the connection itself stays open)."""
        self._socket.close()
