"""Warm reuse, cold starts, idle reaping and close(), with real worker processes."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest

from bakusoku.runtime import FunctionRuntime, RuntimeClosedError
from tests.runtime.conftest import RuntimeFactory, fn, process_exists, wait_until


def test_warm_environment_keeps_module_state_between_invocations(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = make_runtime(fn("counter"))

    results = [runtime.invoke("counter", {}) for _ in range(3)]

    assert [r["count"] for r in results] == [1, 2, 3]
    assert len({r["pid"] for r in results}) == 1
    assert len({r["loaded_at"] for r in results}) == 1  # the module was imported once (init)
    stats = runtime.metrics().functions["counter"]
    assert (stats.invocations, stats.cold_starts, stats.environments) == (3, 1, 1)


def test_concurrent_invocation_gets_its_own_cold_environment(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("counter"))
    first: dict[str, object] = {}
    busy = threading.Thread(target=lambda: first.update(runtime.invoke("counter", {"sleep": 0.6})))
    busy.start()
    wait_until(lambda: runtime.metrics().functions["counter"].concurrent_executions == 1)

    second = runtime.invoke("counter", {})
    busy.join()

    assert second["count"] == 1  # fresh module state: a new environment
    assert second["pid"] != first["pid"]
    stats = runtime.metrics().functions["counter"]
    assert stats.cold_starts == 2
    assert stats.max_concurrent_executions == 2
    assert stats.environments == 2


def test_idle_environments_are_reaped(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("counter"), idle_timeout_seconds=0.2)
    pid = runtime.invoke("counter", {})["pid"]

    wait_until(lambda: runtime.metrics().functions["counter"].environments == 0)
    # The reaper leaves the pool first and then kills the process: it is gone moments later.
    wait_until(lambda: not process_exists(pid), timeout=5)
    assert runtime.invoke("counter", {})["count"] == 1  # the next call starts cold again


def test_close_leaves_no_processes(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("counter"), fn("echo"))
    pids = {runtime.invoke("counter", {})["pid"]}
    runtime.invoke("echo", {})
    env_pids = {env.pid for pool in runtime._pools.values() for env in pool.idle}
    assert pids <= env_pids and len(env_pids) == 2

    runtime.close()
    runtime.close()  # twice is fine

    assert not any(process_exists(pid) for pid in env_pids if pid is not None)
    with pytest.raises(RuntimeClosedError):
        runtime.invoke("counter", {})


def test_close_while_invoking_ends_the_invocation(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("sleep"))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            runtime.invoke("sleep", {"seconds": 5})
        except BaseException as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    wait_until(lambda: runtime.metrics().functions["sleep"].concurrent_executions == 1)
    time.sleep(0.2)  # let the cold start finish so the handler is really running
    pids = [env.pid for env in runtime._busy_envs]
    started = time.monotonic()
    runtime.close()

    assert time.monotonic() - started < 2  # did not wait for the 5 s handler
    assert runtime.metrics().totals.environments == 0
    assert pids and not any(process_exists(pid) for pid in pids if pid is not None)
    caller.join(timeout=5)
    assert len(errors) == 1 and isinstance(errors[0], RuntimeClosedError)


def test_close_during_cold_start(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("counter"))
    errors: list[BaseException] = []
    callers = [threading.Thread(target=lambda: _call_into(runtime, errors)) for _ in range(3)]
    for caller in callers:
        caller.start()
    runtime.close()
    for caller in callers:
        caller.join(timeout=5)

    assert all(isinstance(e, RuntimeClosedError) for e in errors)
    assert runtime.metrics().totals.environments == 0


def test_warm_invocation_overhead_is_small(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("echo"))
    runtime.invoke("echo", {})
    calls = 300
    started = time.perf_counter()
    for i in range(calls):
        runtime.invoke("echo", {"i": i})
    per_call_ms = (time.perf_counter() - started) * 1000 / calls

    assert per_call_ms < 5, f"{per_call_ms:.3f} ms per warm invocation"


def _call_into(runtime: FunctionRuntime, errors: list[BaseException]) -> None:
    try:
        runtime.invoke("counter", {})
    except BaseException as exc:
        errors.append(exc)


def test_start_end_report_lines_are_logged(
    make_runtime: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = make_runtime(fn("counter", memory_mb=512))
    with caplog.at_level(logging.INFO, logger="bakusoku.runtime"):
        runtime.invoke("counter", {})
        runtime.invoke("counter", {})

    lines = [r.getMessage() for r in caplog.records if r.name == "bakusoku.runtime"]
    reports = [line for line in lines if line.startswith("REPORT RequestId: ")]
    assert len([line for line in lines if line.startswith("START RequestId: ")]) == 2
    assert len([line for line in lines if line.startswith("END RequestId: ")]) == 2
    assert len(reports) == 2
    assert len([line for line in lines if line.startswith("INIT_START Runtime Version: ")]) == 1
    cold, warm = reports
    for field in ("Duration: ", "Billed Duration: ", "Memory Size: 512 MB", "Max Memory Used: "):
        assert field in cold and field in warm
    assert "Init Duration: " in cold
    assert "Init Duration: " not in warm
    assert all(
        r.__dict__["function_name"] == "counter"
        for r in caplog.records
        if r.name == "bakusoku.runtime"
    )


def test_idle_worker_that_died_is_replaced_not_reported(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("counter"))
    pid = runtime.invoke("counter", {})["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not process_exists(pid) or _is_zombie(pid))

    result = runtime.invoke("counter", {})

    assert result["count"] == 1 and result["pid"] != pid
    assert runtime.metrics().functions["counter"].errors == 0


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False
