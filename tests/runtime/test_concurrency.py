"""Reserved and account concurrency: throttling as Lambda.TooManyRequestsException."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bakusoku.runtime import FunctionConfigError, FunctionRuntime, TooManyRequestsError
from tests.runtime.conftest import RuntimeFactory, fn, wait_until


@contextmanager
def busy(runtime: FunctionRuntime, name: str, seconds: float = 1.5) -> Iterator[None]:
    """Hold one environment of ``name`` for ``seconds`` in a background invocation."""
    caller = threading.Thread(target=runtime.invoke, args=(name, {"seconds": seconds}))
    before = runtime.metrics().functions[name].concurrent_executions
    caller.start()
    wait_until(lambda: runtime.metrics().functions[name].concurrent_executions > before)
    try:
        yield
    finally:
        caller.join()


def test_reserved_concurrency_exceeded_is_throttled(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("sleep", reserved_concurrency=1))

    with busy(runtime, "sleep"), pytest.raises(TooManyRequestsError) as caught:
        runtime.invoke("sleep", {"seconds": 0})

    error = caught.value
    assert error.error_type == "Lambda.TooManyRequestsException"
    assert error.error_message == "Rate Exceeded."
    assert error.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert error.code == "runtime.throttled"
    assert "Status Code: 429" in error.cause()
    assert runtime.invoke("sleep", {"seconds": 0})["slept"] == 0  # free again afterwards
    stats = runtime.metrics().functions["sleep"]
    assert (stats.throttles, stats.invocations) == (1, 2)


def test_zero_reserved_concurrency_turns_the_function_off(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("echo", reserved_concurrency=0))

    with pytest.raises(TooManyRequestsError):
        runtime.invoke("echo", {})


def test_account_concurrency_is_shared_by_unreserved_functions(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = make_runtime(fn("sleep"), fn("echo"), max_environments=1)

    with busy(runtime, "sleep"), pytest.raises(TooManyRequestsError) as caught:
        runtime.invoke("echo", {})
    assert caught.value.reason == "ConcurrentInvocationLimitExceeded"

    # Once the slot is free, the idle environment of the other function makes room.
    assert runtime.invoke("echo", {"x": 1}) == {"x": 1}
    metrics = runtime.metrics()
    assert metrics.functions["sleep"].environments == 0
    assert metrics.totals.environments == 1


def test_reserved_concurrency_is_carved_out_of_the_account(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(
        fn("sleep", reserved_concurrency=1),
        fn("other", "tests.runtime.handlers.sample.sleep"),
        max_environments=2,
    )

    with busy(runtime, "sleep"):
        # The reserved slot is taken; the one unreserved slot still serves other functions...
        assert runtime.invoke("other", {"seconds": 0})["slept"] == 0
        # ...but never the reserved function itself.
        with pytest.raises(TooManyRequestsError, match="Rate Exceeded"):
            runtime.invoke("sleep", {"seconds": 0})

    with busy(runtime, "other"):
        # Unreserved functions cannot borrow the reserved slot, even while it is idle.
        with pytest.raises(TooManyRequestsError) as caught:
            runtime.invoke("other", {"seconds": 0})
        assert caught.value.reason == "ConcurrentInvocationLimitExceeded"
        assert runtime.invoke("sleep", {"seconds": 0})["slept"] == 0


def test_reservations_above_the_account_limit_are_refused() -> None:
    with pytest.raises(FunctionConfigError, match="reserved concurrency adds up to 3"):
        FunctionRuntime(
            [fn("echo", reserved_concurrency=2), fn("sleep", reserved_concurrency=1)],
            max_environments=2,
        )


def test_many_threads_share_a_small_pool(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("echo", reserved_concurrency=2))
    results: list[object] = []
    throttled: list[TooManyRequestsError] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        for j in range(20):
            try:
                value = runtime.invoke("echo", {"i": i, "j": j})
            except TooManyRequestsError as exc:
                with lock:
                    throttled.append(exc)
            else:
                with lock:
                    results.append(value)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stats = runtime.metrics().functions["echo"]
    assert len(results) + len(throttled) == 120
    assert stats.invocations == len(results)
    assert stats.throttles == len(throttled)
    assert stats.max_concurrent_executions <= 2
    assert stats.environments <= 2
