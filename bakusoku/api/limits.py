"""Request bodies the API reads: capped in size and in time before a byte reaches a route.

``BodyLimits`` answers ``413`` at once when ``Content-Length`` is over the cap, and counts the
bytes of a body sent without one, answering ``413`` as soon as it goes over: a 100 MB body is
never read whole. A body that does not arrive whole within the read timeout (a client trickling
it) answers ``408``. Both close the connection, so what the client still sends is never read.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import anyio

from bakusoku.api.errors import error_body
from bakusoku.errors import BakusokuError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyRefusedError(BakusokuError):
    """A request body over the size limit (413) or not sent in time (408)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


def _too_large(limit: int) -> BodyRefusedError:
    return BodyRefusedError(
        413,
        "request.too_large",
        f"the request body is over the {limit}-byte limit of this endpoint; send less (photos"
        " go to the presigned upload URL, not to the API)",
    )


def _too_slow(seconds: int) -> BodyRefusedError:
    return BodyRefusedError(
        408,
        "request.timeout",
        f"the request body did not arrive whole within {seconds} s; send the request again",
    )


class BodyLimits:
    """ASGI middleware: caps every request body at ``max_bytes`` (``per_path`` overrides it for
    exact paths) and at ``read_timeout`` seconds to arrive."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        read_timeout: int,
        per_path: Mapping[str, int] | None = None,
        per_pattern: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.per_path = dict(per_path or {})
        self.per_pattern = tuple(per_pattern)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, _too_large(limit))
            return
        guarded = _GuardedBody(receive, send, limit, self.read_timeout)
        # the guard has answered already (unless the route had started its own answer)
        with contextlib.suppress(BodyRefusedError):
            await self.app(scope, guarded.receive, guarded.send)

    def _limit(self, path: str) -> int:
        if path in self.per_path:
            return self.per_path[path]
        for pattern, limit in self.per_pattern:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes


class _GuardedBody:
    """One request's ``receive`` and ``send``: counts and times the body, and once it is refused
    answers for the route and drops what the route then sends."""

    def __init__(self, receive: Receive, send: Send, limit: int, read_timeout: int) -> None:
        self._receive = receive
        self._send = send
        self.limit = limit
        self.read_timeout = read_timeout
        self.received = 0
        self.body_done = False
        self.deadline: float | None = None
        self.started = False
        self.answered = False
        self.refused: BodyRefusedError | None = None

    async def receive(self) -> Message:
        if self.body_done or self.refused is not None:
            return await self._receive()  # after the body: disconnects only, no deadline
        if self.deadline is None:
            self.deadline = anyio.current_time() + self.read_timeout
        try:
            with anyio.fail_after(max(0.0, self.deadline - anyio.current_time())):
                message = await self._receive()
        except TimeoutError:
            await self._refuse(_too_slow(self.read_timeout))
            raise self.refused from None  # type: ignore[misc]
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                await self._refuse(_too_large(self.limit))
                raise self.refused from None  # type: ignore[misc]
            self.body_done = not message.get("more_body", False)
        return message

    async def _refuse(self, error: BodyRefusedError) -> None:
        self.refused = error
        if not self.started:
            self.answered = True
            self.started = True
            await _refuse(self._send, error)

    async def send(self, message: Message) -> None:
        if self.answered:
            return  # the refusal went out instead
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, error: BodyRefusedError) -> None:
    body = json.dumps(error_body(error.code, error.message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # what the client still sends is never read: the connection ends here
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
