"""Asynchronous invocation as Lambda does it: an event queue, two retries, destinations, age limit.

A test tool, not part of bakusoku: the product invokes its functions synchronously (the workflow
engine's Task states), so Lambda's asynchronous invocation lives here, beside the tests that
exercise the function runtime through it.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakusoku import utc
from bakusoku.runtime.errors import FunctionConfigError, FunctionError, ServiceError
from bakusoku.runtime.function_runtime import FunctionRuntime

log = logging.getLogger("bakusoku.runtime.async")

# Lambda's delays before the first and second retry of a failed asynchronous event.
RETRY_DELAYS_SECONDS = (60.0, 120.0)
# Throttled or refused events go back to the queue with growing delays, up to this.
MAX_THROTTLE_DELAY_SECONDS = 300.0
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 21_600

Destination = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class EventInvokeConfig:
    """Lambda's PutFunctionEventInvokeConfig: retries (0-2), event age (60 s-6 h), destinations."""

    maximum_retry_attempts: int = 2
    maximum_event_age_seconds: int = MAX_EVENT_AGE_SECONDS
    on_failure: Destination | None = None
    on_success: Destination | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.maximum_retry_attempts <= 2:
            raise FunctionConfigError(
                f"maximum_retry_attempts={self.maximum_retry_attempts} must be 0, 1 or 2 "
                "(Lambda retries an asynchronous event at most twice)"
            )
        if not MIN_EVENT_AGE_SECONDS <= self.maximum_event_age_seconds <= MAX_EVENT_AGE_SECONDS:
            raise FunctionConfigError(
                f"maximum_event_age_seconds={self.maximum_event_age_seconds} must be between "
                f"{MIN_EVENT_AGE_SECONDS} and {MAX_EVENT_AGE_SECONDS}; to make tests fast, "
                "lower AsyncInvoker's time_scale instead"
            )


@dataclass(order=True)
class _Queued:
    due: float
    seq: int
    request_id: str = field(compare=False)
    function: str = field(compare=False)
    payload: Any = field(compare=False)
    received: float = field(compare=False)
    attempts: int = field(default=0, compare=False)
    throttles: int = field(default=0, compare=False)


class AsyncInvoker:
    """``invoke_async`` queues an event and returns its request id at once (Invoke, type Event).

    Worker threads deliver queued events to ``runtime``. A function error is retried after 1 and
    2 minutes (``maximum_retry_attempts``), then the event goes to the on-failure destination
    with condition ``RetriesExhausted``; an event older than ``maximum_event_age_seconds`` goes
    there with ``EventAgeExceeded``. Throttles and refusals are retried with back-off until the
    age limit, without using up retries. Every wait is multiplied by ``time_scale`` (tests use
    e.g. 0.001, so a 1-minute back-off takes 60 ms). Every retry keeps the event's request id.
    """

    def __init__(
        self,
        runtime: FunctionRuntime,
        configs: Mapping[str, EventInvokeConfig] | None = None,
        *,
        default: EventInvokeConfig | None = None,
        concurrency: int = 2,
        time_scale: float = 1.0,
    ) -> None:
        if concurrency < 1:
            raise FunctionConfigError(f"concurrency={concurrency} must be 1 or more")
        if time_scale <= 0:
            raise FunctionConfigError(f"time_scale={time_scale} must be above 0")
        self._runtime = runtime
        self._configs = dict(configs or {})
        self._default = default or EventInvokeConfig()
        self.time_scale = time_scale
        self._queue: list[_Queued] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._in_flight = 0
        self._closed = False
        self.counters = {"received": 0, "succeeded": 0, "retried": 0, "throttled": 0, "dropped": 0}
        self._threads = [
            threading.Thread(target=self._work, name=f"async-invoke-{i}", daemon=True)
            for i in range(concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def config(self, function: str) -> EventInvokeConfig:
        return self._configs.get(function, self._default)

    def invoke_async(self, function: str, payload: Any) -> str:
        """Queue ``payload`` for ``function``; returns the request id every attempt will see."""
        self._runtime.function_config(function)  # ResourceNotFoundError now, as Invoke answers
        request_id = str(uuid.uuid4())
        now = time.monotonic()
        item = _Queued(now, next(self._seq), request_id, function, payload, received=now)
        with self._lock:
            if self._closed:
                raise FunctionConfigError("the asynchronous invoker is closed")
            self.counters["received"] += 1
            heapq.heappush(self._queue, item)
            self._changed.notify()
        return request_id

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or running; False on timeout."""
        with self._lock:
            return self._changed.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers; queued events are dropped (Lambda would keep them for six hours)."""
        with self._lock:
            self._closed = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self) -> AsyncInvoker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- delivery ------------------------------------------------------------------------------

    def _next(self) -> _Queued | None:
        with self._lock:
            while not self._closed:
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._queue)
                    self._changed.wait(wait)
                else:
                    self._changed.wait()
            return None

    def _work(self) -> None:
        while (item := self._next()) is not None:
            try:
                self._deliver(item)
            except Exception:
                log.exception("asynchronous delivery of %s failed", item.request_id)
            finally:
                with self._lock:
                    self._in_flight -= 1
                    self._changed.notify_all()

    def _deliver(self, item: _Queued) -> None:
        config = self.config(item.function)
        max_age = config.maximum_event_age_seconds * self.time_scale
        if time.monotonic() - item.received > max_age:
            self._fail(item, config, "EventAgeExceeded", None)
            return
        item.attempts += 1
        try:
            result = self._runtime.invoke(item.function, item.payload, request_id=item.request_id)
        except FunctionError as error:
            if item.attempts <= config.maximum_retry_attempts:
                delay = RETRY_DELAYS_SECONDS[item.attempts - 1]
                log.info(
                    "%s failed (%s) on attempt %d; retrying in %g s",
                    item.function,
                    error.error_type,
                    item.attempts,
                    delay,
                )
                self._requeue(item, delay, "retried")
            else:
                self._fail(item, config, "RetriesExhausted", error)
            return
        except ServiceError as refusal:  # throttled or refused: the function did not run
            item.attempts -= 1
            item.throttles += 1
            delay = min(MAX_THROTTLE_DELAY_SECONDS, 2.0 ** (item.throttles - 1))
            log.info("%s %s; queued again in %g s", item.function, refusal.error_type, delay)
            self._requeue(item, delay, "throttled")
            return
        with self._lock:
            self.counters["succeeded"] += 1
        if config.on_success is not None:
            config.on_success(self._record(item, "Success", result=result))

    def _requeue(self, item: _Queued, delay: float, counter: str) -> None:
        item.due = time.monotonic() + delay * self.time_scale
        item.seq = next(self._seq)
        with self._lock:
            self.counters[counter] += 1
            heapq.heappush(self._queue, item)
            self._changed.notify()

    def _fail(
        self, item: _Queued, config: EventInvokeConfig, condition: str, error: FunctionError | None
    ) -> None:
        with self._lock:
            self.counters["dropped"] += 1
        record = self._record(item, condition, error=error)
        if config.on_failure is None:
            log.warning(
                "asynchronous event %s for %s discarded (%s) and no on-failure destination is set",
                item.request_id,
                item.function,
                condition,
            )
            return
        config.on_failure(record)

    def _record(
        self,
        item: _Queued,
        condition: str,
        *,
        result: Any = None,
        error: FunctionError | None = None,
    ) -> dict[str, Any]:
        """Lambda's invocation record, as sent to a destination."""
        now = datetime.datetime.now(datetime.UTC)
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if error is not None:
            response["functionError"] = "Unhandled"
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": utc.iso_millis(now),
            "requestContext": {
                "requestId": item.request_id,
                "functionArn": self._runtime.function_arn(item.function) + ":$LATEST",
                "condition": condition,
                "approximateInvokeCount": item.attempts,
            },
            "requestPayload": item.payload,
        }
        if condition != "EventAgeExceeded":
            record["responseContext"] = response
            record["responsePayload"] = error.to_payload() if error is not None else result
        return record


class JsonLinesDestination:
    """A durable local destination (the stand-in for an SQS queue): one record per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        with self.path.open(encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]


class FunctionDestination:
    """Another function as destination: it is invoked asynchronously with the record."""

    def __init__(self, invoker: AsyncInvoker, function: str) -> None:
        self._invoker = invoker
        self.function = function

    def __call__(self, record: dict[str, Any]) -> None:
        self._invoker.invoke_async(self.function, record)
