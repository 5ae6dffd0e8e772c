"""The event sources of the configuration's own functions on one machine, as AWS delivers them.

A schedule is an EventBridge rule: it invokes the function asynchronously with the "Scheduled
Event", and a failed invocation is tried twice more (Lambda's asynchronous retries, a minute and
then two minutes later) with the same request id; an invocation that fails every try is kept as
a dead letter (``bakusoku functions failed``, and an alert), as the deployed function's failure
queue keeps it; ``bakusoku functions redrive`` makes it pending again and the invoker, which looks
for pending invocations every few seconds, invokes it afresh.
An object prefix is an EventBridge rule on S3's "Object Created" events: the object-event router
(``bakusoku.local.trigger``) hands each object created under it to the function, asynchronously,
once per bucket, key and ETag. An HTTP route is an API Gateway HTTP API route:
the request becomes a payload-format-2.0 event, the function is invoked synchronously and its
answer becomes the response (a ``statusCode`` dict as it is, anything else as JSON with 200); a
failed, throttled or timed-out function answers 500 ``{"message": "Internal Server Error"}`` as
API Gateway does. The functions themselves run in the same worker processes as the pipeline's.
"""

from __future__ import annotations

import base64
import datetime
import importlib.util
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bakusoku.config import ConfigError
from bakusoku.db.invocations import AsyncInvocation, AsyncInvocations
from bakusoku.events import ObjectCreated, execution_name
from bakusoku.local.routes import to_eventbridge
from bakusoku.local.schedules import Scheduler
from bakusoku.local.trigger import ObjectTarget
from bakusoku.pipeline.declared import DeclaredFunction, HttpEvent
from bakusoku.runtime import FunctionRuntime, RuntimeErrorBase

log = logging.getLogger("bakusoku.functions")

ACCOUNT = "000000000000"
API_ID = "local"
RETRY_SECONDS = 60.0  # Lambda's asynchronous invocation: two more tries, after 1 and 2 minutes
RETRY_FACTORS = (1.0, 2.0)
PENDING_POLL_SECONDS = 5.0  # how soon a redriven dead letter (made pending elsewhere) is invoked
_INTERNAL_ERROR = {"message": "Internal Server Error"}


def check_importable(functions: Sequence[DeclaredFunction]) -> None:
    """ConfigError naming the function whose handler's module Python cannot find."""
    for function in functions:
        try:
            found = importlib.util.find_spec(function.module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ConfigError(
                f"functions.{function.name}.handler: module {function.module!r} cannot be "
                "imported; run bakusoku from your project's directory or put it on PYTHONPATH "
                "(see docs/functions.md)"
            )


class AsyncInvoker:
    """Invokes functions as Lambda's asynchronous invocation does, on a few background threads.

    Each event is first queued durably under an invocation key (``AsyncInvocations``): an event
    queued twice is invoked once, and an invocation a crash interrupted is invoked again by
    ``resume`` (at least once, as Lambda). A failed try is tried twice more, a minute and then two
    minutes later (``retry_seconds`` scales both) with the same request id; after the last, the
    invocation is kept as a dead letter, which ``bakusoku functions failed`` lists and
    ``on_dead_letter`` is told of. Once started, it also invokes what becomes pending while it
    runs (a dead letter redriven by ``bakusoku functions redrive``) within ``poll_seconds``.
    ``before_invoke`` runs before each try (the stack's: wait while uploads arrive).
    """

    def __init__(
        self,
        runtime: FunctionRuntime,
        invocations: AsyncInvocations,
        *,
        threads: int = 4,
        retry_seconds: float = RETRY_SECONDS,
        poll_seconds: float = PENDING_POLL_SECONDS,
        on_dead_letter: Callable[[AsyncInvocation], None] | None = None,
        before_invoke: Callable[[], object] = lambda: None,
    ) -> None:
        self._runtime = runtime
        self._invocations = invocations
        self._delays = tuple(retry_seconds * factor for factor in RETRY_FACTORS)
        self._poll_seconds = poll_seconds
        self._on_dead_letter = on_dead_letter
        self._before_invoke = before_invoke
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="async-invoke")
        self._stop = threading.Event()
        self._in_flight: set[str] = set()  # keys handed to the pool and not finished
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def submit(self, function: str, event: dict[str, Any], *, key: str, source: str) -> bool:
        """Queue ``event`` for ``function`` and return at once; False when ``key`` was queued
        before (a repeated event), which is then not invoked again."""
        with self._lock:
            self._in_flight.add(key)  # before the row exists, so the watcher never takes it too
        if not self._invocations.add(key, function, source, event):
            with self._lock:
                self._in_flight.discard(key)
            log.info("%s: invocation %s was queued before; repeated event ignored", function, key)
            return False
        self._pool.submit(self._invoke, function, event, key)
        return True

    def resume(self) -> int:
        """Invoke what is pending and not being invoked (what a previous run queued and did not
        finish, or a redriven dead letter), then keep looking every ``poll_seconds``; how many."""
        started = self._submit_pending()
        if self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch_pending, name="async-invoke-pending", daemon=True
            )
            self._watcher.start()
        return started

    def target(self, function: str) -> Callable[[dict[str, Any]], object]:
        """What a schedule fires: hand the event over and return at once (the event's id, new
        for each firing, keys the invocation)."""
        return lambda event: self.submit(
            function, event, key=schedule_key(function, event), source="schedule"
        )

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _watch_pending(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self._submit_pending()
            except Exception:  # the database away for a moment: look again on the next round
                log.exception("could not read the pending asynchronous invocations")

    def _submit_pending(self) -> int:
        started = 0
        for invocation in self._invocations.pending():
            with self._lock:
                if invocation.key in self._in_flight:
                    continue
                self._in_flight.add(invocation.key)
            self._pool.submit(self._invoke, invocation.function, invocation.event, invocation.key)
            started += 1
        return started

    def _invoke(self, function: str, event: dict[str, Any], key: str) -> None:
        try:
            self._try_each(function, event, key)
        finally:
            with self._lock:
                self._in_flight.discard(key)

    def _try_each(self, function: str, event: dict[str, Any], key: str) -> None:
        request_id = str(uuid.uuid4())  # one id for every try of the event, as Lambda keeps it
        tries = len(self._delays) + 1
        for attempt, delay in enumerate((0.0, *self._delays), start=1):
            if self._stop.wait(delay):
                return  # still pending: the next start invokes it again
            self._before_invoke()
            try:
                self._runtime.invoke(function, event, request_id=request_id)
            except RuntimeErrorBase as exc:
                if attempt == tries:
                    log.error(
                        "%s failed on its last try (%d of %d; %s: %s): kept as a dead letter "
                        "(bakusoku functions failed)",
                        function,
                        attempt,
                        tries,
                        exc.error_type,
                        exc.error_message,
                    )
                    self._invocations.failed(key, attempt, exc.error_type, exc.error_message)
                    self._tell_dead_letter(key)
                    return
                log.warning(
                    "%s failed on try %d of %d (%s: %s); it is tried again",
                    function,
                    attempt,
                    tries,
                    exc.error_type,
                    exc.error_message,
                )
                self._invocations.tried(key, attempt)
                continue
            self._invocations.succeeded(key, attempt)
            return

    def _tell_dead_letter(self, key: str) -> None:
        if self._on_dead_letter is None:
            return
        dead = self._invocations.get(key)
        if dead is not None:
            self._on_dead_letter(dead)


def schedule_key(function: str, event: Mapping[str, Any]) -> str:
    """The invocation key of one firing of a schedule: its event's id."""
    return f"{function}:schedule:{event['id']}"


def object_key(function: str, record: ObjectCreated) -> str:
    """The invocation key of one object-created event: bucket, key and ETag, as the pipeline's
    execution names are derived, so a repeated event finds its invocation already queued."""
    return f"{function}:object:{execution_name(record.bucket, record.key, record.etag)}"


def object_targets(
    invoker: AsyncInvoker, functions: Sequence[DeclaredFunction]
) -> list[ObjectTarget]:
    """One target per object prefix of each function: objects created under it invoke the
    function asynchronously with the EventBridge "Object Created" event, as the AWS rule does."""
    targets = []
    for function in functions:
        for n, objects in enumerate(function.object_prefixes, start=1):
            targets.append(
                ObjectTarget(
                    name=f"{function.name}-objects-{n}",
                    prefix=objects.prefix,
                    start=_invoke_on_object(invoker, function.name),
                )
            )
    return targets


def _invoke_on_object(
    invoker: AsyncInvoker, function: str
) -> Callable[[ObjectCreated, dict[str, Any]], bool]:
    def start(record: ObjectCreated, notification: dict[str, Any]) -> bool:
        return invoker.submit(
            function,
            to_eventbridge(notification),
            key=object_key(function, record),
            source="object",
        )

    return start


def add_schedules(
    scheduler: Scheduler, invoker: AsyncInvoker, functions: Sequence[DeclaredFunction]
) -> None:
    """One EventBridge rule per schedule of each function, named ``{function}-schedule-{n}``."""
    for function in functions:
        for n, schedule in enumerate(function.schedules, start=1):
            scheduler.add(
                f"{function.name}-schedule-{n}", schedule.expression, invoker.target(function.name)
            )


def route_path(event: HttpEvent) -> str:
    """API Gateway's ``/files/{name+}`` as Starlette writes it: ``/files/{name:path}``."""
    return "/".join(f"{s[:-2]}:path}}" if s.endswith("+}") else s for s in event.path.split("/"))


def http_routes(
    runtime: FunctionRuntime, functions: Sequence[DeclaredFunction], existing: Sequence[BaseRoute]
) -> list[Route]:
    """The functions' routes; ConfigError when the API already answers one of them."""
    routes = []
    for function in functions:
        for event in function.routes:
            _not_taken(function.name, event, existing)
            methods = None if event.method == "ANY" else [event.method]
            routes.append(
                Route(
                    route_path(event),
                    _endpoint(runtime, function.name, event),
                    methods=methods,
                    name=f"function:{function.name}",
                )
            )
    return routes


class WithFunctionRoutes:
    """The declared functions' routes in front of the API, as on API Gateway: a route of its own
    wins over the API function's catch-all (``$default``), and the API's access control, which
    runs inside the API function, does not apply to it. Anything else goes to the API."""

    def __init__(self, routes: Sequence[Route], api: ASGIApp) -> None:
        self.routes = list(routes)
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match, child = route.matches(scope)
                if match == Match.FULL:
                    scope.update(child)
                    await route.handle(scope, receive, send)
                    return
        await self.api(scope, receive, send)


def _not_taken(name: str, event: HttpEvent, existing: Sequence[BaseRoute]) -> None:
    sample = "/".join("x" if s.startswith("{") else s for s in event.path.split("/"))
    method = "GET" if event.method == "ANY" else event.method
    scope = {"type": "http", "path": sample, "method": method}
    for route in existing:
        if route.matches(scope)[0] == Match.FULL:
            raise ConfigError(
                f"functions.{name}: the route {event.route_key!r} is already bakusoku's API "
                f"route {getattr(route, 'path', '')!r}; choose another path"
            )


def _endpoint(
    runtime: FunctionRuntime, function: str, event: HttpEvent
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        payload = http_event(event, request, await request.body())
        try:
            result = await run_in_threadpool(runtime.invoke, function, payload)
        except RuntimeErrorBase as exc:
            log.warning("%s failed on %s: %s", function, event.route_key, exc.message)
            return JSONResponse(_INTERNAL_ERROR, status_code=500)
        return http_response(result)

    return endpoint


def http_event(route: HttpEvent, request: Request, body: bytes) -> dict[str, Any]:
    """The API Gateway HTTP API event (payload format version 2.0) for ``request``."""
    now = time.time()
    headers: dict[str, str] = {}
    for key, value in request.headers.items():
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        query[key] = f"{query[key]},{value}" if key in query else value
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    client = request.client.host if request.client else "127.0.0.1"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.url.path,
        "rawQueryString": request.url.query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": request.url.hostname or "localhost",
            "domainPrefix": (request.url.hostname or "localhost").split(".")[0],
            "http": {
                "method": request.method,
                "path": request.url.path,
                "protocol": f"HTTP/{request.scope.get('http_version', '1.1')}",
                "sourceIp": client,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": datetime.datetime.fromtimestamp(now, datetime.UTC).strftime(
                "%d/%b/%Y:%H:%M:%S +0000"
            ),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers.pop("cookie").split(";")]
    if query:
        event["queryStringParameters"] = query
    if request.path_params:
        event["pathParameters"] = {k: str(v) for k, v in request.path_params.items()}
    if body:
        event["body"] = text
    return event


def http_response(result: Any) -> Response:
    """The response API Gateway makes of a function's result (payload format version 2.0)."""
    if isinstance(result, dict) and "statusCode" in result:
        raw = result.get("body", "")
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        response = Response(body, status_code=int(result["statusCode"]), headers=headers)
        for cookie in result.get("cookies") or []:
            response.headers.append("set-cookie", str(cookie))
        return response
    # Anything else is the body: API Gateway answers it as JSON with 200.
    return Response(
        json.dumps(result), status_code=200, headers={"content-type": "application/json"}
    )
