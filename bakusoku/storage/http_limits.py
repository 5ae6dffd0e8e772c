"""Bounds on every connection to the local S3 endpoint: how slow a client may be, how many at once.

:class:`ConnectionLimits` holds the numbers (the serving process resolves them from settings).
uvicorn's keep-alive timeout is the idle timeout between requests; :class:`BoundedHttpProtocol`
adds what uvicorn lacks: a deadline for each request's head (a client that connects and sends
nothing, or half its headers, is dropped), a cap on the head's size, a deadline for the rest of a
body the app answered early, a cap on open connections past which a connection gets S3's
``503 SlowDown`` and is closed, and a way for the app to drop a client that stopped reading a
response (:data:`CLOSE_EXTENSION`). The body's own deadline is kept by the app, which reads the
body (:class:`BodyDeadline`, used by ``storage.server``). :func:`store_server_config` puts it
together.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bakusoku.storage.direct_body import (
    DIRECT_BODY_EXTENSION,
    MIN_DIRECT_BYTES,
    BodyReader,
    DirectBody,
)
from bakusoku.storage.errors import RequestTimeoutError, S3Error, SlowDownError
from bakusoku.storage.notifications import new_host_id, new_request_id

# The ASGI scope extension through which the app drops a client that stopped reading its response.
CLOSE_EXTENSION = "bakusoku.close_connection"
_STATUS_LINES = {400: b"HTTP/1.1 400 Bad Request", 503: b"HTTP/1.1 503 Service Unavailable"}


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


def parsed_head_bytes(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """About the size of a request's head from what the parser kept: the target and each header
    line (name, ``: ``, value, CRLF). The raw bytes of a read also hold body bytes, so a head that
    arrived whole in one or two reads is measured here, once parsed."""
    return len(url) + sum(len(name) + len(value) + 4 for name, value in headers)


def request_timeout() -> RequestTimeoutError:
    return RequestTimeoutError(
        "Your socket connection to the server was not read from or written to within the"
        " timeout period."
    )


class BodyDeadline:
    """When the rest of a request body must have arrived, by :class:`ConnectionLimits`' rule."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self._limits = limits
        self._started = time.monotonic()

    def seconds_left(self, received: int) -> float:
        allowance = self._limits.body_timeout_seconds
        if self._limits.body_min_bytes_per_second:
            allowance += received / self._limits.body_min_bytes_per_second
        return self._started + allowance - time.monotonic()


class StoreServerConfig(uvicorn.Config):
    """uvicorn's configuration plus the limits :class:`BoundedHttpProtocol` reads from it.

    A plain module-level class, so it pickles into uvicorn's worker processes.
    """

    def __init__(
        self,
        app: Any,
        *,
        limits: ConnectionLimits,
        direct_body_min_bytes: int = MIN_DIRECT_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app,
            http=BoundedHttpProtocol,
            ws="none",
            timeout_keep_alive=limits.idle_timeout_seconds,  # type: ignore[arg-type]
            **kwargs,
        )
        self.limits = limits
        self.direct_body_min_bytes = direct_body_min_bytes


def store_server_config(
    app: Any,
    limits: ConnectionLimits,
    *,
    direct_body_min_bytes: int = MIN_DIRECT_BYTES,
    **kwargs: Any,
) -> StoreServerConfig:
    """The uvicorn configuration of the store's endpoint (``app`` or its import string).

    PUT bodies of at least ``direct_body_min_bytes`` (0: none) are read with
    ``storage.direct_body``: the app must take them from the scope's ``bakusoku.direct_body``
    extension (``storage.server`` does).
    """
    return StoreServerConfig(
        app, limits=limits, direct_body_min_bytes=direct_body_min_bytes, **kwargs
    )


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with head deadline, head size cap and connection cap.

    It also reads large PUT bodies straight into the app's buffers (``storage.direct_body``).
    """

    config: StoreServerConfig

    def __init__(self, config: StoreServerConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limits = config.limits
        self._deadline: asyncio.TimerHandle | None = None
        self._awaiting_head = True
        self._head_started = False
        self._head_bytes = 0
        self._direct: BodyReader | None = None  # a body to hand over once this read is parsed
        self._body_reader: BodyReader | None = None  # the reader holding the transport now

    # ---- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cap = self.limits.max_connections
        if cap and len(self.connections) > cap:
            # Answer this connection's first request with SlowDown, then close it: clients
            # (botocore, browsers) read a response they can retry on; a bare close looks broken.
            self.app = _slow_down
        self._arm(self.limits.header_timeout_seconds, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._head_bytes += len(data)
        super().data_received(data)
        reader, self._direct = self._direct, None
        if reader is not None and reader.start():  # the rest goes straight to the app's buffers
            self._body_reader = reader
        if (
            self._awaiting_head
            and self._head_bytes > self.limits.max_header_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(self._head_size_error())

    def send_400_response(self, msg: str) -> None:
        """A request the parser cannot read (bad framing, bytes that are not HTTP): S3's XML
        ``400 BadRequest``, where uvicorn would answer plain text."""
        self._refuse(
            S3Error(
                "An error occurred when parsing the HTTP request: it is not valid HTTP/1.1"
                " (its request line, a header or the body's framing).",
                code="BadRequest",
                status=400,
            )
        )

    def _head_size_error(self) -> S3Error:
        return S3Error(
            "Your request's header section exceeds the maximum allowed size of"
            f" {self.limits.max_header_bytes} bytes.",
            code="RequestHeaderSectionTooLarge",
            status=400,
            extra={"MaxSizeAllowed": str(self.limits.max_header_bytes)},
        )

    async def _head_too_large(self, scope: Any, receive: Any, send: Any) -> None:
        """The app of a request whose head, once parsed, is over the cap: S3's 400, then close."""
        error = self._head_size_error()
        body = error.to_xml(
            resource=scope.get("path", ""), request_id=new_request_id(), host_id=new_host_id()
        )
        headers = [
            (b"content-type", b"application/xml"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # ---- request head ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._head_started = True
        if self._deadline is None:
            self._arm(self.limits.header_timeout_seconds, self._head_timed_out)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_bytes = 0
        self._disarm()
        if parsed_head_bytes(self.url, self.headers) > self.limits.max_header_bytes:
            self.app = self._head_too_large  # answered like a head refused before it was whole
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[CLOSE_EXTENSION] = {"close": self._drop_slow_reader}
        super().on_headers_complete()
        self._direct = self._direct_reader()
        if self._direct is not None:
            extensions[DIRECT_BODY_EXTENSION] = DirectBody(self._direct)

    def on_body(self, body: bytes) -> None:
        if self._direct is not None:  # body bytes that came with the head
            self._direct.add_head(body)
        else:
            super().on_body(body)

    def _direct_reader(self) -> BodyReader | None:
        """A reader for this request's body, if it is a large PUT the app will take directly."""
        minimum = self.config.direct_body_min_bytes
        if not minimum or self.scope["method"] != "PUT" or self.app is not self.config.loaded_app:
            return None
        if self.expect_100_continue or self.pipeline:  # keep uvicorn's handling of those
            return None
        length = None
        for name, value in self.headers:
            if name == b"transfer-encoding":
                return None
            if name == b"content-length":
                length = value
        if length is None or not length.isdigit() or int(length) < minimum:
            return None
        return BodyReader(self.transport, self, int(length), self._direct_body_read)

    def _direct_body_read(self) -> None:
        """The body arrived through a BodyReader: the parser, which never saw it, starts anew."""
        self._body_reader = None
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.on_message_complete()
        if (  # answered early, the rest now dropped: idle from here, as uvicorn would be
            self.cycle.response_complete
            and not self.pipeline
            and self.timeout_keep_alive_task is None
            and not self.transport.is_closing()
        ):
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def _drop_slow_reader(self) -> None:
        """Drop the connection now; the app gives up on a response the client does not read."""
        if self.cycle is not None:
            self.cycle.disconnected = True  # the response is abandoned, not an app error
        self.transport.abort()

    def _head_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._head_started:
            self._refuse(request_timeout())
        else:  # connected and sent nothing: there is no request to answer
            self.transport.close()

    # ---- a body the app did not read -------------------------------------------------------

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The app answered before the whole body arrived (an early error): uvicorn reads and
        # drops the rest, and any byte would reset its idle timer, so bound that reading too.
        if self.cycle is not None and self.cycle.more_body and not self.transport.is_closing():
            self._arm(self.limits.body_timeout_seconds, self._drain_timed_out)
            if self._body_reader is not None:
                # A BodyReader drops the rest: the connection is not idle until it is done.
                self._unset_keepalive_if_required()

    def on_message_complete(self) -> None:
        if self._deadline is not None and not self._awaiting_head:
            self._disarm()
        super().on_message_complete()

    def _drain_timed_out(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    # ---- helpers ---------------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, error: S3Error) -> None:
        """Answer ``error`` as S3's XML outside any request cycle, then close the connection."""
        self._disarm()
        self.transport.write(_raw_response(error))
        self.transport.close()


def _raw_response(error: S3Error) -> bytes:
    body = error.to_xml(request_id=new_request_id(), host_id=new_host_id())
    return closing_response(_STATUS_LINES[error.status], b"application/xml", body)


def closing_response(status_line: bytes, content_type: bytes, body: bytes) -> bytes:
    """A whole HTTP/1.1 response written outside any request cycle, that closes the connection.

    For what the protocol answers itself (a head too slow or too large), before or without the app.
    """
    head = [
        status_line,
        b"content-type: " + content_type,
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
        b"",
        b"",
    ]
    return b"\r\n".join(head) + body


async def _slow_down(scope: Any, receive: Any, send: Any) -> None:
    """The whole app of a connection over the cap: S3's 503 SlowDown, then close."""
    error = SlowDownError("Please reduce your request rate: the store serves too many connections.")
    body = error.to_xml(
        resource=scope.get("path", ""), request_id=new_request_id(), host_id=new_host_id()
    )
    await send_retry_later(send, error.status, b"application/xml", body)


async def send_retry_later(send: Any, status: int, content_type: bytes, body: bytes) -> None:
    """Answer a connection over the cap through ASGI: ``Retry-After: 1``, then the connection closes.

    Clients (botocore, browsers) read a response they can retry on; a bare close looks broken.
    """
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"retry-after", b"1"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
