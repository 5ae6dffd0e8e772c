"""A PUT body read from the socket straight into reused buffers: no copy before the hash.

uvicorn hands a request body to the app as ``bytes`` made three times over (the loop's read
buffer, the parser's ``on_body``, its own ``bytearray`` and ``bytes(...)`` of it), pauses and
resumes reading every 64 KB and wakes the app for each piece. For a 5 MB upload that was a third
of the store's CPU beside the MD5 itself. Here, once a PUT's head is parsed, the connection's
transport is handed to a :class:`BodyReader` (an ``asyncio.BufferedProtocol``), paused until the
app says how it takes the body:

- :meth:`DirectBody.lend`: one worker thread reads the rest from the socket itself
  (``storage.blocking_body``) and :meth:`DirectBody.returned` hands the connection back;
- :meth:`DirectBody.next_chunk`: the kernel copies the body into 1 MiB page-aligned buffers of a
  process-wide pool, the app takes each full buffer, hashes and writes it in a worker thread and
  gives it back.

Either way the body bytes that came with the head start the first buffer, so every chunk but the
last is whole and page-aligned (``storage.direct_write`` writes such chunks past the page cache).
When the declared ``Content-Length`` has arrived, the transport goes back to the HTTP protocol
with a fresh parser, as if the parser had read the body itself; keep-alive goes on.

The reader never reads past the body (each buffer it offers is at most what remains of it), so a
next request on the connection is parsed as usual. If the app answers before taking the whole
body (an error), it calls :meth:`DirectBody.abandon` and the rest is read and dropped, within the
connection's drain deadline.
"""

from __future__ import annotations

import asyncio
import mmap
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from bakusoku.storage.blocking_body import BlockingBody
from bakusoku.storage.errors import ClientDisconnected

# The ASGI scope extension holding the request's DirectBody (only on PUTs read this way).
DIRECT_BODY_EXTENSION = "bakusoku.direct_body"
BUFFER_BYTES = 1024 * 1024
# Bodies smaller than this arrive in a read or two: the usual path costs less than the switch.
MIN_DIRECT_BYTES = 64 * 1024
# Buffers one body may hold at once: one being filled while the app writes the other.
BUFFERS_PER_BODY = 2
# Idle buffers kept for the next bodies (their pages are already mapped: no page faults).
_POOL_MAX = 32
_POOL: list[mmap.mmap] = []
_SCRATCH = bytearray(BUFFER_BYTES)  # where an abandoned body's rest is read and dropped


class HttpProtocol(Protocol):
    """What the reader needs of the HTTP protocol it stands in for (uvicorn's, subclassed)."""

    def connection_lost(self, exc: Exception | None) -> None: ...
    def eof_received(self) -> bool | None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...


def _take_buffer() -> mmap.mmap:
    """A pool buffer: page-aligned anonymous memory, so a full one can be written to disk with
    ``O_DIRECT`` (``storage.direct_write``) straight from where the socket put it."""
    try:
        return _POOL.pop()
    except IndexError:  # (several servers in one process may share the pool)
        return mmap.mmap(-1, BUFFER_BYTES)


def _give_back(buffer: mmap.mmap) -> None:
    if len(_POOL) < _POOL_MAX:
        _POOL.append(buffer)


class DirectBody:
    """The app's side: the body as buffers, in order, each given back with :meth:`release`."""

    def __init__(self, reader: BodyReader) -> None:
        self._reader = reader

    @property
    def size(self) -> int:
        return self._reader.size

    @property
    def received(self) -> int:
        """Body bytes that arrived so far, whether or not the app took them yet."""
        return self._reader.received

    async def next_chunk(self, timeout: float | None = None) -> memoryview | None:
        """The next part of the body, or ``None`` once all of it was taken.

        Raises :class:`ClientDisconnected` if the connection closed before the end, and
        ``TimeoutError`` if nothing came within ``timeout`` seconds (a part that is already
        there is returned at once, whatever the timeout).
        """
        return await self._reader.next_chunk(timeout)

    def release(self, chunk: bytes | bytearray | memoryview) -> None:
        """Give back a chunk once nothing reads it any more (its buffer is filled again)."""
        if isinstance(chunk, memoryview):
            self._reader.release(chunk)

    def abandon(self) -> None:
        """The app will take no more: read what remains of the body and drop it."""
        self._reader.abandon()

    def lend(self) -> BlockingBody | None:
        """The rest of the body, to be read in a worker thread (``storage.blocking_body``), or
        ``None`` if it cannot be any more (the event loop began reading it): then use
        :meth:`next_chunk`. Give it back with :meth:`returned` on the event loop."""
        return self._reader.lend()

    def returned(self, body: BlockingBody) -> None:
        """The worker thread is done with ``body``: the event loop takes the connection back (and
        the app calls :meth:`abandon` if the body was not read to its end)."""
        self._reader.returned(body)


class BodyReader(asyncio.BufferedProtocol):
    """Stands in for ``http`` on ``transport`` while one request body of ``size`` bytes arrives.

    Body bytes the HTTP parser read with the request's head come first (:meth:`add_head`).
    ``finished`` runs once the rest has been read (taken or dropped), after the transport went
    back to ``http``: it must reset the HTTP parser and complete the request's message.
    """

    def __init__(
        self,
        transport: asyncio.Transport,
        http: HttpProtocol,
        size: int,
        finished: Callable[[], None],
    ) -> None:
        self.size = size
        self._transport = transport
        self._http = http
        self._finished = finished
        self._remaining = size
        self._ready: deque[memoryview] = deque()
        self._current: mmap.mmap | None = None
        self._filled = 0
        self._held = 0  # pool buffers out of the pool for this body (filling, ready or taken)
        self._paused = False
        self._parked = False  # taken over, but not read until the app says how (lend or chunks)
        self._lent = False
        self._abandoned = False
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    # ---- the transport's side -----------------------------------------------------------------

    @property
    def received(self) -> int:
        """Body bytes read from the socket so far (taken by the app or not)."""
        return self.size - self._remaining

    def add_head(self, part: bytes) -> None:
        """Body bytes the parser read in the same read as the request's head.

        They are copied into pool buffers (at most one socket read's worth), so that every chunk
        but the last is a whole, page-aligned buffer, as the socket fills the rest.
        """
        view = memoryview(part)[: max(self._remaining, 0)]
        while view:
            target = self.get_buffer(len(view))
            count = min(len(target), len(view))
            target[:count] = view[:count]
            view = view[count:]
            self._fill(count)

    def start(self) -> bool:
        """Take over the transport, unless the parser already read the whole body (it then
        completes the request itself); whether it did."""
        if self._remaining <= 0:
            self._done = True
            self._wake()
            return False
        if self._transport.is_closing():  # the HTTP protocol hears of the close, the app here
            self._done = True
            self._error = ClientDisconnected()
            self._wake()
            return False
        self._transport.set_protocol(self)
        self._paused = self._parked = True
        self._transport.pause_reading()
        return True

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._abandoned:
            return memoryview(_SCRATCH)[: min(self._remaining, len(_SCRATCH))]
        if self._current is None:
            self._current = _take_buffer()
            self._filled = 0
            self._held += 1
        end = min(len(self._current), self._filled + self._remaining)
        return memoryview(self._current)[self._filled : end]

    def buffer_updated(self, nbytes: int) -> None:
        self._fill(nbytes)
        if self._remaining == 0:
            self._finish()

    def _fill(self, nbytes: int) -> None:
        """``nbytes`` more of the body are in the current buffer (or dropped, if abandoned)."""
        self._remaining -= nbytes
        if not self._abandoned:
            assert self._current is not None
            self._filled += nbytes
            if self._filled == len(self._current) or self._remaining == 0:
                self._ready.append(memoryview(self._current)[: self._filled])
                self._current = None
                self._wake()
                if self._held >= BUFFERS_PER_BODY and self._remaining:
                    self._pause()  # the app still has every buffer: wait for one back

    def eof_received(self) -> bool | None:
        return self._http.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done:
            self._done = True
            self._error = ClientDisconnected()
            self._wake()
        self._http.connection_lost(exc)

    def pause_writing(self) -> None:
        self._http.pause_writing()

    def resume_writing(self) -> None:
        self._http.resume_writing()

    # ---- the app's side -----------------------------------------------------------------------

    async def next_chunk(self, timeout: float | None) -> memoryview | None:
        self._unpark()
        while not self._ready:
            if self._error is not None:
                raise self._error
            if self._done:
                return None
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            # One timer per wait, and none when a buffer is ready: cheaper than a cancel scope
            # around every buffer of every upload.
            timer = None if timeout is None else loop.call_later(timeout, _time_out, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        return self._ready.popleft()

    def release(self, chunk: memoryview) -> None:
        buffer = chunk.obj
        chunk.release()
        if not isinstance(buffer, mmap.mmap):  # a piece of the head, not a pool buffer
            return
        self._held -= 1
        _give_back(buffer)
        if self._paused and self._held < BUFFERS_PER_BODY:
            self._resume()

    def lend(self) -> BlockingBody | None:
        if not self._parked or self._lent or self._ready or self._transport.is_closing():
            return None
        socket = self._transport.get_extra_info("socket")
        if socket is None or self._transport.get_extra_info("sslcontext") is not None:
            return None
        buffer, filled = self._current, self._filled
        if buffer is None:
            buffer, filled = _take_buffer(), 0
            self._held += 1
        self._current = None
        self._lent = True
        return BlockingBody(socket.fileno(), buffer, filled, self._remaining)

    def returned(self, body: BlockingBody) -> None:
        body.close()
        self._held -= 1
        _give_back(body.buffer)
        self._remaining = body.remaining
        self._parked = self._lent = False  # (what the thread left, abandon reads and drops)
        if self._remaining == 0:
            self._finish()  # the connection goes back to HTTP, reading again

    def _unpark(self) -> None:
        if self._parked and not self._lent:
            self._parked = False
            self._resume()

    def abandon(self) -> None:
        self._unpark()
        while self._ready:  # nothing reads these any more
            self.release(self._ready.popleft())
        if self._abandoned or self._done:
            return
        self._abandoned = True
        if self._current is not None:
            self._held -= 1
            _give_back(self._current)
            self._current = None
        self._resume()

    # ---- helpers ------------------------------------------------------------------------------

    def _finish(self) -> None:
        self._done = True
        self._resume()
        if self._transport.get_protocol() is self:
            self._transport.set_protocol(self._http)  # type: ignore[arg-type]
        self._finished()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _pause(self) -> None:
        if not self._paused and not self._transport.is_closing():
            self._paused = True
            self._transport.pause_reading()

    def _resume(self) -> None:
        if self._paused:
            self._paused = False
            if not self._transport.is_closing():
                self._transport.resume_reading()


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def direct_body(scope: Any) -> DirectBody | None:
    """The request's :class:`DirectBody`, if its body is read this way."""
    extensions = scope.get("extensions") or {}
    body = extensions.get(DIRECT_BODY_EXTENSION)
    return body if isinstance(body, DirectBody) else None
