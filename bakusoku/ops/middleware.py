"""The API's operations middleware: request ids, request metrics and spans, upload trace links."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from bakusoku.ops.logs import request_id_var
from bakusoku.ops.metrics import OpsMetrics

if TYPE_CHECKING:
    from bakusoku.ops.tracing import Tracing

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Does this text hold a credential: a key's or token's shape, or a part of the request's
# Authorization header (the second argument)? The API knows their shapes (bakusoku.api.quoting).
HoldsSecret = Callable[[str, str], bool]


def request_id(given: str, authorization: str, holds_secret: HoldsSecret) -> str:
    """The request's id: the client's X-Request-Id when it is short and plain, else a new one.

    The id is echoed in the answer and written on every log line of the request, so a key sent
    in its place (pasted in the wrong header, or a client that sends everything it holds) must
    never be taken: such a request gets an id of its own, as one that sent none.
    """
    if _REQUEST_ID.fullmatch(given) and not holds_secret(given, authorization):
        return given
    return uuid.uuid4().hex


class OpsMiddleware:
    """Pure ASGI: safe for streaming responses; buffers only ``POST /v1/uploads`` answers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: OpsMetrics,
        tracing: Tracing | None,
        on_upload: Callable[[str, str | None], None],
        holds_secret: HoldsSecret,
    ) -> None:
        self.app = app
        self.holds_secret = holds_secret
        self.metrics = metrics
        self.tracing = tracing
        self.on_upload = on_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        rid = request_id(given, headers.get("authorization", ""), self.holds_secret)
        token = request_id_var.set(rid)
        method = scope["method"]
        is_upload = method == "POST" and scope.get("path") == "/v1/uploads"
        status = {"code": 500}
        body: list[bytes] = []
        started = time.perf_counter()
        span_cm: AbstractContextManager[Any] = (
            self.tracing.request_span(method, scope.get("path", ""), headers)
            if self.tracing is not None
            else nullcontext()
        )
        try:
            with span_cm as span:

                async def wrapped(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        status["code"] = message["status"]
                        message.setdefault("headers", [])
                        message["headers"] = [
                            *message["headers"],
                            (b"x-request-id", rid.encode()),
                        ]
                        if is_upload:
                            body.clear()
                    elif message["type"] == "http.response.body" and is_upload:
                        body.append(message.get("body", b""))
                        if not message.get("more_body"):
                            await anyio.to_thread.run_sync(
                                self._uploaded, status["code"], b"".join(body), span
                            )
                    await send(message)

                await self.app(scope, receive, wrapped)
                if span is not None:
                    span.set_attribute("http.response.status_code", status["code"])
                    route = _route(scope)
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
        finally:
            route = _route(scope)
            self.metrics.http_requests.labels(method, route, str(status["code"])).inc()
            took = time.perf_counter() - started
            self.metrics.http_duration.labels(method, route).observe(took)
            self.metrics.recent_requests.record(route, status["code"], took)
            request_id_var.reset(token)

    def _uploaded(self, status: int, data: bytes, span: Any) -> None:
        if status != 201:
            return
        self.metrics.uploads.inc()
        try:
            photo_id = str(json.loads(data)["photo_id"])
        except (ValueError, KeyError, TypeError):
            return
        traceparent = None
        if span is not None and self.tracing is not None:
            span.set_attribute("bakusoku.photo_id", photo_id)
            traceparent = self.tracing.traceparent(span)
        self.on_upload(photo_id, traceparent)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
