"""A task without TimeoutSeconds runs in its execution's thread; interrupting it still ends the
execution at once, and the task's late return writes nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa

from bakusoku.workflow.engine import ExecutionDescription, WorkflowEngine
from bakusoku.workflow.invoker import FunctionInvoker

from .conftest import ACCOUNT, REGION, EngineFactory, fn_arn

SLOW_THEN_PASS = {
    "StartAt": "Slow",
    "States": {
        "Slow": {"Type": "Task", "Resource": fn_arn("slow"), "Next": "After"},
        "After": {"Type": "Pass", "End": True},
    },
}


class SlowTask:
    """A task that runs until released, counting its calls."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.returned = threading.Event()
        self.calls = 0

    def __call__(self, event: Any) -> str:
        self.calls += 1
        self.entered.set()
        self.release.wait(10)
        self.returned.set()
        return "late"


def _types(engine: WorkflowEngine, name: str) -> list[str]:
    return [event.type for event in engine.get_execution_history(name)]


def test_stop_execution_during_a_task_aborts_at_once(make_engine: EngineFactory) -> None:
    slow = SlowTask()
    ended: list[ExecutionDescription] = []
    engine = make_engine({fn_arn("slow"): slow})
    engine.add_listener(ended.append)
    arn = engine.register_state_machine("inline-abort", SLOW_THEN_PASS)
    engine.start()
    engine.start_execution(arn, {}, name="ia")
    assert slow.entered.wait(5)

    engine.stop_execution("ia", error="Operator", cause="stopped by hand")

    # Ended while the task still runs.
    done = engine.describe_execution("ia")
    assert done.status == "ABORTED" and done.error == "Operator"
    assert done.cause == "stopped by hand"
    assert _types(engine, "ia")[-1] == "ExecutionAborted"
    assert [d.status for d in ended] == ["ABORTED"]
    before = _types(engine, "ia")

    slow.release.set()
    assert slow.returned.wait(5)
    time.sleep(0.2)
    assert _types(engine, "ia") == before  # nothing of the late return is written
    assert engine.describe_execution("ia").status == "ABORTED"
    assert [d.status for d in ended] == ["ABORTED"]
    assert slow.calls == 1


def test_execution_timeout_during_a_task_times_out_at_once(make_engine: EngineFactory) -> None:
    slow = SlowTask()
    engine = make_engine({fn_arn("slow"): slow})
    arn = engine.register_state_machine(
        "inline-timeout",
        {"TimeoutSeconds": 50, **SLOW_THEN_PASS},  # 50 ms at the tests' time scale
    )
    engine.start()
    engine.start_execution(arn, {}, name="it")
    try:
        done = engine.wait_for("it", timeout=5)
        assert (done.status, done.error, done.cause) == ("TIMED_OUT", None, None)
        assert not slow.returned.is_set()  # the task is still running
        assert _types(engine, "it")[-1] == "ExecutionTimedOut"
        before = _types(engine, "it")
    finally:
        slow.release.set()
    assert slow.returned.wait(5)
    time.sleep(0.2)
    assert _types(engine, "it") == before
    assert engine.describe_execution("it").status == "TIMED_OUT"


def test_engine_stop_does_not_wait_for_a_running_task(db: sa.Engine) -> None:
    slow = SlowTask()
    first = WorkflowEngine(
        db, FunctionInvoker({fn_arn("slow"): slow}), region=REGION, account=ACCOUNT
    )
    arn = first.register_state_machine("inline-stop", SLOW_THEN_PASS)
    first.start()
    first.start_execution(arn, {"n": 1}, name="is")
    assert slow.entered.wait(5)
    t0 = time.monotonic()
    first.stop(timeout=5)
    assert time.monotonic() - t0 < 2
    assert first.describe_execution("is").status == "RUNNING"

    second = WorkflowEngine(
        db, FunctionInvoker({fn_arn("slow"): lambda e: "again"}), region=REGION, account=ACCOUNT
    )
    second.register_state_machine("inline-stop", SLOW_THEN_PASS)
    second.start()
    try:
        done = second.wait_for("is", timeout=5)
        slow.release.set()
        assert slow.returned.wait(5)
        time.sleep(0.2)
        history = second.get_execution_history("is")
    finally:
        second.stop()
    assert done.status == "SUCCEEDED"
    assert second.describe_execution("is").output == "again"  # the task ran again there
    # The first engine's late return added nothing: one success, at the end.
    types = [e.type for e in history]
    assert types.count("LambdaFunctionSucceeded") == 1
    assert types[-1] == "ExecutionSucceeded"
    ids = [e.id for e in history]
    assert ids == sorted(set(ids))


def test_redrive_while_the_aborted_task_still_runs(make_engine: EngineFactory) -> None:
    slow = SlowTask()
    engine = make_engine({fn_arn("slow"): slow})
    arn = engine.register_state_machine("inline-redrive", SLOW_THEN_PASS)
    engine.start()
    engine.start_execution(arn, {}, name="ir")
    assert slow.entered.wait(5)
    engine.stop_execution("ir", error="Operator")
    engine.redrive_execution("ir")  # the first call has not returned yet
    slow.release.set()
    done = engine.wait_for("ir", timeout=5)
    assert done.status == "SUCCEEDED" and done.redrive_count == 1
    assert slow.calls == 2
    types = _types(engine, "ir")
    assert types.index("ExecutionAborted") < types.index("ExecutionRedriven")
    assert types[-1] == "ExecutionSucceeded"
