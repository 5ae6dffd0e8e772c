"""Handler exceptions, timeouts, crashes and init failures, reported as Lambda reports them."""

from __future__ import annotations

import json

import pytest

from bakusoku.runtime import FunctionError
from tests.runtime.conftest import RuntimeFactory, fn, process_exists


def test_handler_exception_becomes_function_error(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("fail"))

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("fail", {"key": "2026/a.jpg"})

    error = caught.value
    assert error.error_type == "ValueError"
    assert error.error_message == "cannot trim photo 2026/a.jpg"
    assert error.code == "runtime.handler_error"
    assert len(error.request_id) == 36
    assert any("sample.py" in line and "in fail" in line for line in error.stack_trace)
    assert not any("worker.py" in line for line in error.stack_trace)
    cause = json.loads(error.cause_json())
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["errorType"] == "ValueError"
    assert cause["requestId"] == error.request_id


def test_custom_exception_class_name_is_the_error_type(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("not_found"))

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("not_found", {})

    assert caught.value.error_type == "PhotoNotFoundError"  # bare class name, no module
    assert caught.value.error_message == "photo 42 is gone"


def test_environment_survives_a_handler_exception(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("fail"))
    for _ in range(2):
        with pytest.raises(FunctionError):
            runtime.invoke("fail", {})

    stats = runtime.metrics().functions["fail"]
    assert (stats.cold_starts, stats.errors, stats.environments) == (1, 2, 1)


def test_timeout_kills_and_replaces_the_worker(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("sleep", timeout_seconds=0.5))
    pid = runtime.invoke("sleep", {"seconds": 0})["pid"]

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("sleep", {"seconds": 5})

    error = caught.value
    assert error.error_type == "Sandbox.Timedout"
    assert error.error_message == (
        f"RequestId: {error.request_id} Error: Task timed out after 0.50 seconds"
    )
    assert error.code == "runtime.timeout"
    assert not process_exists(pid)
    assert runtime.invoke("sleep", {"seconds": 0})["pid"] != pid
    stats = runtime.metrics().functions["sleep"]
    assert (stats.timeouts, stats.cold_starts) == (1, 2)


@pytest.mark.parametrize(
    ("handler", "event", "reason"),
    [
        ("exit_process", {"status": 3}, "exit status 3"),
        ("segfault", {}, "signal: segmentation fault"),
    ],
)
def test_crash_is_an_exit_error_and_the_worker_is_replaced(
    make_runtime: RuntimeFactory, handler: str, event: dict[str, int], reason: str
) -> None:
    runtime = make_runtime(fn("crashy", f"tests.runtime.handlers.sample.{handler}"), fn("counter"))

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("crashy", event)

    error = caught.value
    assert error.error_type == "Runtime.ExitError"
    assert error.error_message == (
        f"RequestId: {error.request_id} Error: Runtime exited with error: {reason}"
    )
    assert error.code == "runtime.crashed"
    stats = runtime.metrics().functions["crashy"]
    assert (stats.crashes, stats.environments) == (1, 0)
    with pytest.raises(FunctionError):  # a new environment runs the next invocation
        runtime.invoke("crashy", event)
    assert runtime.metrics().functions["crashy"].cold_starts == 2


def test_memory_error_is_out_of_memory_and_replaces_the_worker(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = make_runtime(fn("out_of_memory"))

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("out_of_memory", {})

    assert caught.value.error_type == "Runtime.OutOfMemory"
    assert "Runtime exited with error: signal: killed" in caught.value.error_message
    assert runtime.metrics().functions["out_of_memory"].environments == 0


def test_going_past_memory_size_is_out_of_memory(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("allocate", memory_mb=128))
    assert runtime.invoke("allocate", {"mb": 16, "hold": 0}) == 16 * 1024 * 1024

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("allocate", {"mb": 200, "hold": 2})

    assert caught.value.error_type == "Runtime.OutOfMemory"
    assert caught.value.code == "runtime.out_of_memory"


def test_init_exception_is_reported_and_init_retried(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("broken", "tests.runtime.handlers.broken_init.handler"))

    for _ in range(2):
        with pytest.raises(FunctionError) as caught:
            runtime.invoke("broken", {})
        assert caught.value.error_type == "RuntimeError"
        assert caught.value.error_message == "DATABASE_URL is not set"
        assert "broken_init.py" in caught.value.stack_trace[0]  # starts at the user's code

    stats = runtime.metrics().functions["broken"]
    assert (stats.cold_starts, stats.environments, stats.errors) == (2, 0, 2)


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (
            "tests.runtime.handlers.missing_dependency.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'tests.runtime.handlers.missing_dependency': "
            "No module named 'bakusoku_package_that_does_not_exist'",
        ),
        (
            "tests.runtime.handlers.sample.no_such_function",
            "Runtime.HandlerNotFound",
            "Handler 'no_such_function' missing on module 'tests.runtime.handlers.sample'",
        ),
        (
            "sys.handler",
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module sys as a handler module",
        ),
    ],
)
def test_handler_that_cannot_be_loaded(
    make_runtime: RuntimeFactory, handler: str, error_type: str, message: str
) -> None:
    runtime = make_runtime(fn("broken", handler))

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("broken", {})

    assert caught.value.error_type == error_type
    assert caught.value.error_message == message
    assert caught.value.code == "runtime.init_failed"
