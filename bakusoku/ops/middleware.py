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

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class OpsMiddleware:
    """Pure ASGI: safe for streaming responses; buffers only ``POST /v1/uploads`` answers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: OpsMetrics,
        tracing: Tracing | None,
        on_upload: Callable[[str, str | None], None],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        self.on_upload = on_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
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
                            (b"x-request-id", request_id.encode()),
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
