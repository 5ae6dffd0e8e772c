"""The API port's connections: how long a client may take, and how many may be open at once.

The bounds are ``storage.bounded_protocol``'s, the store's too; here they answer in JSON, as every
API error does: a head that did not arrive whole within ``api_header_timeout_seconds`` gets ``408
request.timeout`` (a connection that sent nothing is just closed), a head over
``api_max_header_bytes`` ``431 request.headers_too_large``, bytes that are not HTTP/1.1 ``400
request.malformed``, and a connection past ``api_max_connections`` ``503 server.busy`` with
``Retry-After``; each then closes. Bodies are timed by ``bakusoku.api.limits.BodyLimits``.
"""

from __future__ import annotations

import json
from typing import Any

from bakusoku.api.errors import error_body
from bakusoku.config import Settings
from bakusoku.storage.bounded_protocol import (
    BoundedHeadProtocol,
    ConnectionLimits,
    Refusal,
    RefusalReason,
)


def _json_refusal(status: int, code: str, message: str, retry_after: int | None = None) -> Refusal:
    body = json.dumps(error_body(code, message)).encode()
    return Refusal(status, b"application/json", body, retry_after)


class ApiHttpProtocol(BoundedHeadProtocol):
    """uvicorn's HTTP/1.1 protocol with the bounded head and connection cap, answering JSON."""

    def refusal(self, reason: RefusalReason) -> Refusal:
        limits = self.limits
        if reason == "busy":
            message = "the API serves as many connections as it may; retry in a few seconds"
            return _json_refusal(503, "server.busy", message, retry_after=1)
        if reason == "head_timeout":
            message = (
                "the request's headers did not arrive whole within"
                f" {limits.header_timeout_seconds:g} s; send the request again"
            )
            return _json_refusal(408, "request.timeout", message)
        if reason == "head_too_large":
            message = (
                f"the request's headers are larger than {limits.max_header_bytes} bytes; send"
                " fewer or shorter headers (cookies, long query strings)"
            )
            return _json_refusal(431, "request.headers_too_large", message)
        message = (
            "the request is not valid HTTP/1.1 (its request line, a header, or the body's"
            " Content-Length / Transfer-Encoding framing); fix the client"
        )
        return _json_refusal(400, "request.malformed", message)


def api_connection_options(settings: Settings) -> dict[str, Any]:
    """The ``uvicorn.Config`` arguments that bound the API port's connections."""
    limits = ConnectionLimits(
        header_timeout_seconds=float(settings.api_header_timeout_seconds),
        body_timeout_seconds=float(settings.api_body_timeout_seconds),  # (kept by BodyLimits)
        body_min_bytes_per_second=0,
        idle_timeout_seconds=float(settings.api_idle_timeout_seconds),
        max_connections=settings.api_max_connections,
        max_header_bytes=settings.api_max_header_bytes,
    )
    protocol = type("BoundedApiHttpProtocol", (ApiHttpProtocol,), {"limits": limits})
    return {
        "http": protocol,
        "timeout_keep_alive": settings.api_idle_timeout_seconds,
        "limit_concurrency": None,  # the protocol's cap answers JSON, not uvicorn's plain text
    }
