"""Asynchronous invocation: two retries at 1 and 2 minutes (scaled), destinations, event age."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bakusoku.runtime import FunctionConfigError, ResourceNotFoundError
from tests.runtime.async_invoke import (
    AsyncInvoker,
    EventInvokeConfig,
    FunctionDestination,
    JsonLinesDestination,
)
from tests.runtime.conftest import RuntimeFactory, fn

SCALE = 0.002  # one minute of Lambda's back-off lasts 120 ms here


@pytest.fixture
def invokers() -> Iterator[list[AsyncInvoker]]:
    made: list[AsyncInvoker] = []
    yield made
    for invoker in made:
        invoker.close()


def _attempt_times(log: Path) -> list[float]:
    return [float(line.split()[1]) for line in log.read_text().splitlines()]


def test_failing_event_is_retried_twice_then_sent_to_the_failure_destination(
    make_runtime: RuntimeFactory, invokers: list[AsyncInvoker], tmp_path: Path
) -> None:
    runtime = make_runtime(fn("flaky"))
    failures = JsonLinesDestination(tmp_path / "dlq.jsonl")
    invoker = AsyncInvoker(
        runtime, {"flaky": EventInvokeConfig(on_failure=failures)}, time_scale=SCALE
    )
    invokers.append(invoker)
    log = tmp_path / "attempts.log"
    event = {"log": str(log), "fail_times": 99}

    request_id = invoker.invoke_async("flaky", event)
    assert invoker.wait_idle(10)

    (record,) = failures.records()
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["functionArn"].endswith(":function:flaky:$LATEST")
    assert record["requestPayload"] == event
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ConnectionError"
    first, second, third = _attempt_times(log)
    assert second - first >= 60 * SCALE  # 1 minute
    assert third - second >= 120 * SCALE  # then 2 minutes
    assert invoker.counters["retried"] == 2 and invoker.counters["dropped"] == 1


def test_every_retry_sees_the_same_request_id_and_success_goes_to_its_destination(
    make_runtime: RuntimeFactory, invokers: list[AsyncInvoker], tmp_path: Path
) -> None:
    runtime = make_runtime(fn("flaky"))
    successes: list[dict[str, Any]] = []
    config = EventInvokeConfig(on_success=successes.append)
    invoker = AsyncInvoker(runtime, default=config, time_scale=SCALE)
    invokers.append(invoker)
    log = tmp_path / "attempts.log"

    request_id = invoker.invoke_async("flaky", {"log": str(log), "fail_times": 1})
    assert invoker.wait_idle(10)

    assert [line.split()[0] for line in log.read_text().splitlines()] == [request_id] * 2
    (record,) = successes
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"] == {"attempt": 2}
    assert "functionError" not in record["responseContext"]


def test_no_retries_when_configured_so(
    make_runtime: RuntimeFactory, invokers: list[AsyncInvoker], tmp_path: Path
) -> None:
    runtime = make_runtime(fn("flaky"))
    failures: list[dict[str, Any]] = []
    config = EventInvokeConfig(maximum_retry_attempts=0, on_failure=failures.append)
    invoker = AsyncInvoker(runtime, {"flaky": config}, time_scale=SCALE)
    invokers.append(invoker)
    log = tmp_path / "attempts.log"

    invoker.invoke_async("flaky", {"log": str(log), "fail_times": 5})
    assert invoker.wait_idle(10)

    assert len(log.read_text().splitlines()) == 1
    assert failures[0]["requestContext"]["approximateInvokeCount"] == 1


def test_throttled_event_waits_until_its_age_limit(
    make_runtime: RuntimeFactory, invokers: list[AsyncInvoker]
) -> None:
    runtime = make_runtime(fn("echo", reserved_concurrency=0))  # always throttled
    failures: list[dict[str, Any]] = []
    config = EventInvokeConfig(maximum_event_age_seconds=60, on_failure=failures.append)
    invoker = AsyncInvoker(runtime, {"echo": config}, time_scale=SCALE)
    invokers.append(invoker)

    invoker.invoke_async("echo", {"n": 1})
    assert invoker.wait_idle(10)

    (record,) = failures
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0  # it never ran
    assert "responsePayload" not in record
    assert invoker.counters["throttled"] >= 3


def test_failure_destination_can_be_another_function(
    make_runtime: RuntimeFactory, invokers: list[AsyncInvoker], tmp_path: Path
) -> None:
    runtime = make_runtime(fn("fail"), fn("flaky"))
    invoker = AsyncInvoker(runtime, time_scale=SCALE)
    invokers.append(invoker)
    log = tmp_path / "attempts.log"
    # "flaky" as the on-failure destination of "fail": it logs the record's request id.
    invoker._configs["fail"] = EventInvokeConfig(
        maximum_retry_attempts=0, on_failure=FunctionDestination(invoker, "flaky")
    )

    invoker.invoke_async("fail", {"key": "a.jpg", "log": str(log)})
    assert invoker.wait_idle(10)

    assert len(log.read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"maximum_retry_attempts": 3}, "must be 0, 1 or 2"),
        ({"maximum_event_age_seconds": 30}, "between 60 and 21600"),
    ],
)
def test_settings_lambda_would_refuse(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(FunctionConfigError, match=message):
        EventInvokeConfig(**settings)


def test_unknown_function_is_refused_at_once(
    make_runtime: RuntimeFactory, invokers: list[AsyncInvoker]
) -> None:
    invoker = AsyncInvoker(make_runtime(fn("echo")), time_scale=SCALE)
    invokers.append(invoker)

    with pytest.raises(ResourceNotFoundError, match="Function not found"):
        invoker.invoke_async("nope", {})
