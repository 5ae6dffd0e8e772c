"""The API port's connections: how long a client may take, and how many may be open at once.

uvicorn closes a connection idle between requests after ``timeout_keep_alive``, but waits for a
request's headers forever: a client that connects and sends nothing, or half a request line, holds
its connection for good; and its own ``limit_concurrency`` answers a plain-text 503. A connection
past ``max_connections`` gets our JSON ``503 server.busy`` with ``Retry-After`` instead, then a close.
``HeaderDeadlineProtocol`` gives every request ``header_timeout`` seconds from its first byte
(or from the connection, for the first request) to send its headers whole; then it answers
``408`` (or just closes, if nothing came) and closes. Bodies are timed by
``bakusoku.api.limits.BodyLimits``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bakusoku.api.errors import error_body
from bakusoku.config import Settings
from bakusoku.storage.http_limits import closing_response, send_retry_later


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps(
        error_body(
            "request.timeout",
            f"the request's headers did not arrive whole within {seconds:g} s;"
            " send the request again",
        )
    ).encode()
    return closing_response(b"HTTP/1.1 408 Request Timeout", b"application/json", body)


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._partial_request = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.max_connections and len(self.connections) > self.max_connections:
            self.app = _busy  # this connection's request is answered 503, then it closes
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._between_requests():
            self._arm()  # the first bytes of the next request on a kept-alive connection
        if self._header_timer is not None and data:
            self._partial_request = True
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return not self.pipeline and (self.cycle is None or self.cycle.response_complete)

    def _arm(self) -> None:
        self._partial_request = False
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


def api_connection_options(settings: Settings) -> dict[str, Any]:
    """The ``uvicorn.Config`` arguments that bound the API port's connections."""
    protocol = type(
        "ApiHttpProtocol",
        (HeaderDeadlineProtocol,),
        {
            "header_timeout": float(settings.api_header_timeout_seconds),
            "max_connections": settings.api_max_connections,
        },
    )
    return {
        "http": protocol,
        "timeout_keep_alive": settings.api_idle_timeout_seconds,
        "limit_concurrency": None,  # the protocol's cap answers JSON, not uvicorn's plain text
    }
