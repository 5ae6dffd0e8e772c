"""uvicorn's HTTP/1.1 protocol with the bounds a public port needs and uvicorn lacks.

uvicorn closes a connection idle between requests (``timeout_keep_alive``) but waits for a
request's head forever, reads a head of any size, answers its own concurrency limit and a request
it cannot parse in plain text. :class:`BoundedHeadProtocol` adds, for the store's port and the
API's alike:

* a deadline for each request's head, from its first byte (from the connection, for the first
  request): past it, an answer if part of a request came, else a bare close;
* a cap on the head's size: counted while it arrives (the parser keeps every byte of an unfinished
  head) and measured once parsed (a head that arrived whole in one read);
* a cap on open connections: a connection past it has its first request answered, then closes;
* an answer of our own to bytes that are not HTTP/1.1.

Each subclass says how a refusal reads (:meth:`BoundedHeadProtocol.refusal`): S3's XML on the
store, JSON on the API. Every refusal closes the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Why the protocol answers a request itself.
RefusalReason = Literal["busy", "head_timeout", "head_too_large", "malformed"]


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take and how many connections are served at once (per process).

    ``max_connections`` 0 means no cap; ``body_min_bytes_per_second`` 0 means a fixed body timeout.

        A body must arrive within ``body_timeout_seconds`` plus one second per
        ``body_min_bytes_per_second`` bytes received (Apache's mod_reqtimeout rule): a slow but
        steady client always finishes, a trickle is cut off.
    """

    header_timeout_seconds: float
    body_timeout_seconds: float
    body_min_bytes_per_second: int
    idle_timeout_seconds: float
    max_connections: int
    max_header_bytes: int


@dataclass(frozen=True)
class Refusal:
    """An answer the protocol gives itself; the connection closes after it."""

    status: int
    content_type: bytes
    body: bytes
    retry_after_seconds: int | None = None

    def raw(self) -> bytes:
        """The whole response, to write to the transport outside any request cycle."""
        status_line = f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}".encode()
        extra = [] if self.retry_after_seconds is None else [(b"retry-after", self._retry_after)]
        return closing_response(status_line, self.content_type, self.body, extra)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Answer as the ASGI app of a request (its head was parsed, its cycle runs)."""
        headers = [
            (b"content-type", self.content_type),
            (b"content-length", str(len(self.body)).encode()),
            (b"connection", b"close"),
        ]
        if self.retry_after_seconds is not None:
            headers.append((b"retry-after", self._retry_after))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})

    @property
    def _retry_after(self) -> bytes:
        return str(self.retry_after_seconds).encode()


def closing_response(
    status_line: bytes,
    content_type: bytes,
    body: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> bytes:
    """A whole HTTP/1.1 response written outside any request cycle, that closes the connection.

    For what the protocol answers itself (a head too slow or too large), before or without the app.
    """
    head = [
        status_line,
        b"content-type: " + content_type,
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
        *(name + b": " + value for name, value in extra_headers or []),
        b"",
        b"",
    ]
    return b"\r\n".join(head) + body


def parsed_head_bytes(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """About the size of a request's head from what the parser kept: the target and each header
    line (name, ``: ``, value, CRLF)."""
    return len(url) + sum(len(name) + len(value) + 4 for name, value in headers)


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with head deadline, head size cap, connection cap and an
    answer of its own to what is not HTTP (see the module's docstring)."""

    limits: ConnectionLimits  # set by the subclass

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._awaiting_head = True
        self._head_started = False  # a byte of the awaited head arrived
        self._head_bytes = 0  # bytes read while the head was not yet whole

    def refusal(self, reason: RefusalReason) -> Refusal:
        """How this port answers ``reason`` (S3's XML, the API's JSON)."""
        raise NotImplementedError

    # ---- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cap = self.limits.max_connections
        if cap and len(self.connections) > cap:
            # Answer this connection's first request, then close it: clients (botocore,
            # browsers) read a response they can retry on; a bare close looks broken.
            self.app = self.refusal("busy")
        self.arm(self.limits.header_timeout_seconds, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._head_bytes += len(data)
        super().data_received(data)
        self.after_read()
        # Still no whole head after this read: the parser keeps what it has, so stop it here.
        if (
            self._awaiting_head
            and self._head_bytes > self.limits.max_header_bytes
            and not self.transport.is_closing()
        ):
            self.refuse(self.refusal("head_too_large"))

    def after_read(self) -> None:
        """Runs after each read was parsed (the store hands a body over to its reader here)."""

    def send_400_response(self, msg: str) -> None:
        """Bytes the parser cannot read (bad framing, not HTTP): our answer, not uvicorn's text."""
        self.refuse(self.refusal("malformed"))

    # ---- request head ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._head_started = True
        if self._deadline is None:  # the next request on a kept-alive connection
            self.arm(self.limits.header_timeout_seconds, self._head_timed_out)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_bytes = 0
        self.disarm()
        if parsed_head_bytes(self.url, self.headers) > self.limits.max_header_bytes:
            self.app = self.refusal("head_too_large")  # this request's answer, then a close
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self._deadline is not None and not self._awaiting_head:
            self.disarm()
        super().on_message_complete()

    def _head_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._head_started:
            self.refuse(self.refusal("head_timeout"))
        else:  # connected and sent nothing: there is no request to answer
            self.transport.close()

    # ---- helpers ---------------------------------------------------------------------------

    def arm(self, seconds: float, callback: Any) -> None:
        """Call ``callback`` in ``seconds`` unless disarmed first (one deadline at a time)."""
        self.disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def refuse(self, refusal: Refusal) -> None:
        """Answer ``refusal`` outside any request cycle, then close the connection."""
        self.disarm()
        self.transport.write(refusal.raw())
        self.transport.close()
