"""The API port's connections: how long a client may take, and how many may be open at once.

uvicorn closes a connection idle between requests after ``timeout_keep_alive``, but waits for a
request's headers forever: a client that connects and sends nothing, or half a request line, holds
its connection for good; and its own ``limit_concurrency`` answers a plain-text 503. A connection
past ``max_connections`` gets our JSON ``503 server.busy`` with ``Retry-After`` instead, then a close.
``HeaderDeadlineProtocol`` gives every request ``header_timeout`` seconds from its first byte
(or from the connection, for the first request) to send its headers whole; then it answers
``408`` (or just closes, if nothing came) and closes. A head over ``max_header_bytes`` gets
``431`` and a close, and a request that is not valid HTTP/1.1 a JSON ``400 request.malformed``
(uvicorn's answers to both are plain text, or none). Bodies are timed by
``bakusoku.api.limits.BodyLimits``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bakusoku.api.errors import error_body
from bakusoku.config import Settings
from bakusoku.storage.http_limits import closing_response, parsed_head_bytes, send_retry_later


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps(
        error_body(
            "request.timeout",
            f"the request's headers did not arrive whole within {seconds:g} s;"
            " send the request again",
        )
    ).encode()
    return closing_response(b"HTTP/1.1 408 Request Timeout", b"application/json", body)


def _head_too_large_body(limit: int) -> bytes:
    message = (
        f"the request's headers are larger than {limit} bytes; send fewer or shorter headers"
        " (cookies, long query strings)"
    )
    return json.dumps(error_body("request.headers_too_large", message)).encode()


def _malformed_response() -> bytes:
    body = json.dumps(
        error_body(
            "request.malformed",
            "the request is not valid HTTP/1.1 (its request line, a header, or the body's"
            " Content-Length / Transfer-Encoding framing); fix the client",
        )
    ).encode()
    return closing_response(b"HTTP/1.1 400 Bad Request", b"application/json", body)


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    """The whole app of a connection over the cap: a JSON 503 the client may retry, then close."""
    body = json.dumps(
        error_body(
            "server.busy",
            "the API serves as many connections as it may; retry in a few seconds",
        )
    ).encode()
    await send_retry_later(send, 503, b"application/json", body)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on each request's headers and a connection cap."""

    header_timeout: float = 10.0
    max_connections: int = 0  # 0: no cap
    max_header_bytes: int = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._partial_request = False
        self._head_bytes = 0  # bytes read while this request's head was not yet whole

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.max_connections and len(self.connections) > self.max_connections:
            self.app = _busy  # this connection's request is answered 503, then it closes
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._between_requests():
            self._arm()  # the first bytes of the next request on a kept-alive connection
        awaiting_head = self._header_timer is not None
        if awaiting_head and data:
            self._partial_request = True
            self._head_bytes += len(data)
        super().data_received(data)
        # Still no whole head after this read: the parser keeps what it has, so stop it here.
        if (
            self._header_timer is not None
            and self._head_bytes > self.max_header_bytes
            and not self.transport.is_closing()
        ):
            self._disarm()
            body = _head_too_large_body(self.max_header_bytes)
            status = b"HTTP/1.1 431 Request Header Fields Too Large"
            self.transport.write(closing_response(status, b"application/json", body))
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm()
        if parsed_head_bytes(self.url, self.headers) > self.max_header_bytes:
            self.app = _head_too_large(self.max_header_bytes)  # its answer, then a close
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """What the parser could not read is answered in JSON, as every API error is."""
        self._disarm()
        self.transport.write(_malformed_response())
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return not self.pipeline and (self.cycle is None or self.cycle.response_complete)

    def _arm(self) -> None:
        self._partial_request = False
        self._head_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self._partial_request = False

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._partial_request:
            self.transport.write(_timeout_response(self.header_timeout))
        self.transport.close()


def _head_too_large(limit: int) -> Any:
    """The app of a request whose head, once parsed, is over ``limit``: 431, then a close."""

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        body = _head_too_large_body(limit)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 431, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return answer


def api_connection_options(settings: Settings) -> dict[str, Any]:
    """The ``uvicorn.Config`` arguments that bound the API port's connections."""
    protocol = type(
        "ApiHttpProtocol",
        (HeaderDeadlineProtocol,),
        {
            "header_timeout": float(settings.api_header_timeout_seconds),
            "max_connections": settings.api_max_connections,
            "max_header_bytes": settings.api_max_header_bytes,
        },
    )
    return {
        "http": protocol,
        "timeout_keep_alive": settings.api_idle_timeout_seconds,
        "limit_concurrency": None,  # the protocol's cap answers JSON, not uvicorn's plain text
    }
