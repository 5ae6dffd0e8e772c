"""Engine tests on a temporary SQLite database with in-process functions standing in for Lambda."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.workflow.engine import ExecutionDescription, WorkflowEngine
from bakusoku.workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionDoesNotExistError,
    InvalidNameError,
    StateMachineDoesNotExistError,
)
from bakusoku.workflow.invoker import FunctionInvoker
from bakusoku.workflow.tables import executions

from .conftest import ACCOUNT, REGION, EngineFactory, fn_arn


class ImageBrokenError(Exception):
    pass


def types(engine: WorkflowEngine, name: str) -> list[str]:
    return [event.type for event in engine.get_execution_history(name)]


def test_success_path_and_history(make_engine: EngineFactory) -> None:
    engine = make_engine({fn_arn("double"): lambda event: {"value": event["value"] * 2}})
    arn = engine.register_state_machine(
        "simple",
        {
            "StartAt": "Prepare",
            "States": {
                "Prepare": {
                    "Type": "Pass",
                    "Result": 21,
                    "ResultPath": "$.value",
                    "Next": "Double",
                },
                "Double": {"Type": "Task", "Resource": fn_arn("double"), "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
        },
    )
    assert arn == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:simple"
    engine.start()
    ref = engine.start_execution(arn, {"keep": True}, name="run-1")
    assert ref.arn == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:simple:run-1"
    done = engine.wait_for("run-1", timeout=5)
    assert done.status == "SUCCEEDED"
    assert done.output == {"value": 42}
    assert done.input == {"keep": True}
    assert done.stop_date is not None and done.stop_date >= done.start_date

    history = engine.get_execution_history("run-1")
    assert [e.type for e in history] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [e.id for e in history] == list(range(1, 12))
    # As Step Functions numbers them: the first state's entered event has no previous event.
    assert [e.previous_event_id for e in history] == [0, 0, *range(2, 11)]
    entered = history[3]
    assert entered.details == {
        "name": "Double",
        "input": json.dumps({"keep": True, "value": 21}, separators=(",", ":")),
        "inputDetails": {"truncated": False},
    }
    assert entered.to_aws()["stateEnteredEventDetails"]["name"] == "Double"
    scheduled = history[4].details
    assert scheduled is not None and scheduled["resource"] == fn_arn("double")
    assert json.loads(history[-1].details["output"]) == {"value": 42}  # type: ignore[index]


def test_retry_then_success(make_engine: EngineFactory) -> None:
    calls: list[int] = []

    def flaky(event: dict[str, Any]) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("database busy")
        return "ok"

    engine = make_engine({fn_arn("flaky"): flaky})
    arn = engine.register_state_machine(
        "retrying",
        {
            "StartAt": "Work",
            "States": {
                "Work": {
                    "Type": "Task",
                    "Resource": fn_arn("flaky"),
                    "Retry": [
                        {"ErrorEquals": ["TimeoutError"], "IntervalSeconds": 1, "MaxAttempts": 2}
                    ],
                    "End": True,
                }
            },
        },
    )
    engine.start()
    engine.start_execution(arn, {}, name="retry-ok")
    done = engine.wait_for("retry-ok", timeout=5)
    assert done.status == "SUCCEEDED" and done.output == "ok"
    assert len(calls) == 3
    assert types(engine, "retry-ok").count("LambdaFunctionFailed") == 2
    failed = [
        e for e in engine.get_execution_history("retry-ok") if e.type == "LambdaFunctionFailed"
    ]
    assert failed[0].details is not None
    assert failed[0].details["error"] == "TimeoutError"
    assert json.loads(failed[0].details["cause"])["errorMessage"] == "database busy"


CATCHING = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": fn_arn("broken"),
            "Retry": [
                {"ErrorEquals": ["ImageBrokenError"], "MaxAttempts": 0},
                {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2},
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Cleanup"}],
            "End": True,
        },
        "Cleanup": {"Type": "Pass", "Next": "Failed"},
        "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    },
}


def run_catching(
    make_engine: EngineFactory, failure: Callable[[], Exception], state_input: Any, name: str
) -> tuple[int, WorkflowEngine, ExecutionDescription]:
    """Run CATCHING to its end with a task that always raises ``failure()``.

    Returns how often the task was called, the engine and the ended execution.
    """
    calls: list[int] = []

    def broken(event: dict[str, Any]) -> None:
        calls.append(1)
        raise failure()

    engine = make_engine({fn_arn("broken"): broken})
    arn = engine.register_state_machine("catching", CATCHING)
    engine.start()
    engine.start_execution(arn, state_input, name=name)
    done = engine.wait_for(name, timeout=5)
    return len(calls), engine, done


def test_retry_exhausted_then_catch_then_fail(make_engine: EngineFactory) -> None:
    calls, engine, done = run_catching(
        make_engine, lambda: ValueError("always broken"), {"photo": "p1"}, "caught"
    )
    assert calls == 3  # the first try and two retries
    assert done.status == "FAILED"
    assert done.error == "ValueError"
    assert done.cause is not None and json.loads(done.cause)["errorMessage"] == "always broken"
    assert done.output is None
    history = engine.get_execution_history("caught")
    assert [e.type for e in history][-6:] == [
        "LambdaFunctionFailed",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    cleanup = next(e for e in history if e.type == "PassStateEntered")
    assert cleanup.details is not None
    cleanup_input = json.loads(cleanup.details["input"])
    assert cleanup_input["photo"] == "p1"
    assert cleanup_input["error"]["Error"] == "ValueError"
    assert history[-1].type == "ExecutionFailed"
    assert history[-1].details == {"error": done.error, "cause": done.cause}


def test_max_attempts_zero_means_no_retry(make_engine: EngineFactory) -> None:
    calls, _engine, done = run_catching(
        make_engine, lambda: ImageBrokenError("not an image"), {}, "no-retry"
    )
    assert calls == 1
    assert done.error == "ImageBrokenError"


def test_parallel_with_a_failing_branch(make_engine: EngineFactory) -> None:
    release = threading.Event()

    def slow(event: Any) -> str:
        release.wait(5)
        return "slow"

    def bad(event: Any) -> None:
        raise ImageBrokenError("branch two broke")

    engine = make_engine({fn_arn("slow"): slow, fn_arn("bad"): bad})
    arn = engine.register_state_machine(
        "parallel",
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "A",
                            "States": {
                                "A": {"Type": "Task", "Resource": fn_arn("slow"), "End": True}
                            },
                        },
                        {
                            "StartAt": "B",
                            "States": {
                                "B": {"Type": "Task", "Resource": fn_arn("bad"), "End": True}
                            },
                        },
                    ],
                    "Catch": [
                        {
                            "ErrorEquals": ["ImageBrokenError"],
                            "ResultPath": "$.failure",
                            "Next": "Handled",
                        }
                    ],
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        },
    )
    engine.start()
    engine.start_execution(arn, {"id": 7}, name="par")
    done = engine.wait_for("par", timeout=5)
    release.set()
    assert done.status == "SUCCEEDED"
    assert done.output["id"] == 7
    assert done.output["failure"]["Error"] == "ImageBrokenError"
    kinds = types(engine, "par")
    assert kinds[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert "ParallelStateFailed" in kinds
    assert "ParallelStateSucceeded" not in kinds


def test_parallel_success_collects_branch_outputs_in_order(make_engine: EngineFactory) -> None:
    engine = make_engine({fn_arn("up"): lambda e: e.upper(), fn_arn("rev"): lambda e: e[::-1]})
    arn = engine.register_state_machine(
        "fan",
        {
            "StartAt": "Fan",
            "States": {
                "Fan": {
                    "Type": "Parallel",
                    "InputPath": "$.word",
                    "Branches": [
                        {
                            "StartAt": "U",
                            "States": {
                                "U": {"Type": "Task", "Resource": fn_arn("up"), "End": True}
                            },
                        },
                        {
                            "StartAt": "R",
                            "States": {
                                "R": {"Type": "Task", "Resource": fn_arn("rev"), "End": True}
                            },
                        },
                    ],
                    "ResultPath": "$.results",
                    "End": True,
                }
            },
        },
    )
    engine.start()
    engine.start_execution(arn, {"word": "abc"}, name="fan-1")
    assert engine.wait_for("fan-1", timeout=5).output == {"word": "abc", "results": ["ABC", "cba"]}
    history = engine.get_execution_history("fan-1")
    started = next(e for e in history if e.type == "ParallelStateStarted")
    branch_entries = [e for e in history if e.type == "TaskStateEntered"]
    assert all(e.previous_event_id == started.id for e in branch_entries)


def test_start_execution_is_idempotent_by_name(make_engine: EngineFactory) -> None:
    gate = threading.Event()
    engine = make_engine({fn_arn("wait"): lambda e: gate.wait(5)})
    arn = engine.register_state_machine(
        "slow",
        {
            "StartAt": "W",
            "States": {"W": {"Type": "Task", "Resource": fn_arn("wait"), "End": True}},
        },
    )
    engine.start()
    first = engine.start_execution(arn, {"a": 1}, name="same")
    again = engine.start_execution(arn, {"a": 1}, name="same")
    assert again == first
    with pytest.raises(ExecutionAlreadyExistsError):
        engine.start_execution(arn, {"a": 2}, name="same")
    gate.set()
    engine.wait_for("same", timeout=5)
    with pytest.raises(ExecutionAlreadyExistsError):  # closed: the name cannot be reused
        engine.start_execution(arn, {"a": 1}, name="same")


@pytest.mark.parametrize("bad", ["", "x" * 81, "has space", "a/b", "a:b", "tab\there", "brace{"])
def test_invalid_execution_names(make_engine: EngineFactory, bad: str) -> None:
    engine = make_engine({})
    arn = engine.register_state_machine(
        "p", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    with pytest.raises(InvalidNameError):
        engine.start_execution(arn, {}, name=bad)


def test_unknown_state_machine_and_execution(make_engine: EngineFactory) -> None:
    engine = make_engine({})
    with pytest.raises(StateMachineDoesNotExistError):
        engine.start_execution("nope", {})
    with pytest.raises(ExecutionDoesNotExistError):
        engine.describe_execution("nope")


def test_restart_resumes_a_running_execution(db: sa.Engine) -> None:
    entered = threading.Event()
    first_calls: list[str] = []

    def stuck(event: Any) -> str:
        first_calls.append("stuck")
        entered.set()
        threading.Event().wait(2)  # outlives the first engine's stop
        return "late"

    definition = {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Result": "one", "ResultPath": "$.one", "Next": "Two"},
            "Two": {"Type": "Task", "Resource": fn_arn("work"), "ResultPath": "$.two", "End": True},
        },
    }
    first = WorkflowEngine(
        db, FunctionInvoker({fn_arn("work"): stuck}), region=REGION, account=ACCOUNT
    )
    arn = first.register_state_machine("resumable", definition)
    first.start()
    first.start_execution(arn, {"n": 1}, name="survivor")
    assert entered.wait(5)
    first.stop(timeout=5)
    assert first.describe_execution("survivor").status == "RUNNING"

    second = WorkflowEngine(
        db,
        FunctionInvoker({fn_arn("work"): lambda event: "resumed"}),
        region=REGION,
        account=ACCOUNT,
    )
    second.register_state_machine("resumable", definition)
    second.start()
    try:
        done = second.wait_for("survivor", timeout=5)
    finally:
        second.stop()
    assert done.status == "SUCCEEDED"
    assert done.output == {"n": 1, "one": "one", "two": "resumed"}
    history = second.get_execution_history("survivor")
    ids = [e.id for e in history]
    assert ids == sorted(set(ids))
    assert [e.type for e in history].count("PassStateEntered") == 1
    assert history[-1].type == "ExecutionSucceeded"


def test_listener_called_when_execution_ends(make_engine: EngineFactory) -> None:
    seen: list[ExecutionDescription] = []
    ended = threading.Event()
    engine = make_engine({})

    def listen(description: ExecutionDescription) -> None:
        seen.append(description)
        ended.set()

    engine.add_listener(listen)
    arn = engine.register_state_machine(
        "failing",
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "because"}}},
    )
    engine.start()
    engine.start_execution(arn, {}, name="f1")
    assert ended.wait(5)
    assert seen[0].status == "FAILED" and seen[0].error == "Oops" and seen[0].cause == "because"


def test_listeners_hear_of_an_end_only_once_it_is_durable(make_engine: EngineFactory) -> None:
    # The execution's own thread does not wait for its last write; whoever commits it tells the
    # listeners, so what they read is already the final record.
    engine = make_engine({fn_arn("noop"): lambda event: event})
    recorded: dict[str, str] = {}
    all_ended = threading.Event()
    names = [f"run-{i}" for i in range(40)]

    def listen(description: ExecutionDescription) -> None:
        recorded[description.name] = engine.describe_execution(description.name).status
        if len(recorded) == len(names):
            all_ended.set()

    engine.add_listener(listen)
    arn = engine.register_state_machine(
        "tasks",
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Task", "Resource": fn_arn("noop"), "Next": "B"},
                "B": {"Type": "Task", "Resource": fn_arn("noop"), "End": True},
            },
        },
    )
    engine.start()
    for name in names:
        engine.start_execution(arn, {"name": name}, name=name)
    assert all_ended.wait(10)
    assert recorded == {name: "SUCCEEDED" for name in names}
    assert engine.wait_for(names[-1], timeout=1).output == {"name": names[-1]}


def test_a_stop_right_after_executions_end_keeps_their_ends(
    make_engine: EngineFactory,
) -> None:
    # Ends still being written when stop() is called land before the engine hands its
    # executions back: none is resumed and run again by the next engine.
    calls: list[str] = []
    engine = make_engine({fn_arn("count"): lambda event: calls.append(event["name"]) or event})
    definition = {
        "StartAt": "Count",
        "States": {"Count": {"Type": "Task", "Resource": fn_arn("count"), "End": True}},
    }
    # A slow disk under the ends: they are still being written when stop() is called.
    together = engine._writer._together

    def slowly(writes: list[Any], direct: bool) -> Any:
        if any("status" in getattr(write, "values", {}) for write in writes):
            time.sleep(0.05)
        return together(writes, direct)

    engine._writer._together = slowly  # type: ignore[method-assign]
    arn = engine.register_state_machine("count", definition)
    engine.start()
    names = [f"run-{i}" for i in range(10)]
    for name in names:
        engine.start_execution(arn, {"name": name}, name=name)
    while len(calls) < len(names):
        time.sleep(0.001)
    engine.stop()

    successor = make_engine({fn_arn("count"): lambda event: calls.append(event["name"]) or event})
    successor.register_state_machine("count", definition)
    successor.start()
    for name in names:
        assert successor.wait_for(name, timeout=5).status == "SUCCEEDED"
        assert types(successor, name).count("ExecutionSucceeded") == 1
    assert sorted(calls) == sorted(names)  # each task ran once


def test_list_executions(make_engine: EngineFactory) -> None:
    engine = make_engine({})
    arn = engine.register_state_machine(
        "p", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    engine.start()
    for i in range(3):
        engine.start_execution(arn, {"i": i}, name=f"e{i}")
    for i in range(3):
        engine.wait_for(f"e{i}", timeout=5)
    listed = engine.list_executions(arn, status_filter="SUCCEEDED")
    assert [d.name for d in listed.executions] == ["e2", "e1", "e0"]  # newest first
    assert listed.next_token is None
    assert engine.list_executions(status_filter="FAILED").executions == []
    assert len(engine.list_executions(max_results=2).executions) == 2


def test_execution_queued_before_start_runs_on_start(make_engine: EngineFactory) -> None:
    engine = make_engine({})
    arn = engine.register_state_machine(
        "p", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    engine.start_execution(arn, {"x": 1}, name="early")
    assert engine.describe_execution("early").status == "RUNNING"
    engine.start()
    assert engine.wait_for("early", timeout=5).output == {"x": 1}


def test_redrive_reruns_from_the_failed_state(make_engine: EngineFactory) -> None:
    attempts: list[str] = []

    def once_broken(event: Any) -> str:
        attempts.append("x")
        if len(attempts) == 1:
            raise ImageBrokenError("first time")
        return "fixed"

    first_state_runs: list[int] = []

    def first(event: Any) -> dict[str, Any]:
        first_state_runs.append(1)
        return {"step": 1}

    engine = make_engine({fn_arn("first"): first, fn_arn("second"): once_broken})
    arn = engine.register_state_machine(
        "redrivable",
        {
            "StartAt": "First",
            "States": {
                "First": {"Type": "Task", "Resource": fn_arn("first"), "Next": "Second"},
                "Second": {
                    "Type": "Task",
                    "Resource": fn_arn("second"),
                    "ResultPath": "$.second",
                    "End": True,
                },
            },
        },
    )
    engine.start()
    engine.start_execution(arn, {}, name="rd")
    assert engine.wait_for("rd", timeout=5).status == "FAILED"
    engine.redrive_execution("rd")
    done = engine.wait_for("rd", timeout=5)
    assert done.status == "SUCCEEDED"
    assert done.output == {"step": 1, "second": "fixed"}
    assert done.redrive_count == 1
    assert first_state_runs == [1]
    assert "ExecutionRedriven" in types(engine, "rd")


def test_a_state_error_names_the_entered_event_as_the_history_numbers_it(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine({fn_arn("first"): lambda event: {"step": 1}})
    arn = engine.register_state_machine(
        "entered",
        {
            "StartAt": "First",
            "States": {
                "First": {"Type": "Task", "Resource": fn_arn("first"), "Next": "Check"},
                "Check": {"Type": "Pass", "InputPath": "$.missing", "End": True},
            },
        },
    )
    engine.start()
    engine.start_execution(arn, {}, name="entered")
    done = engine.wait_for("entered", timeout=5)
    entered = [e for e in engine.get_execution_history("entered") if e.type == "PassStateEntered"]
    assert (done.error, done.cause) == (
        "States.Runtime",
        f"An error occurred while executing the state 'Check' (entered at the event id "
        f"#{entered[0].id}). Invalid path '$.missing' : No results for path: $['missing']",
    )
    assert entered[0].id == 7


def test_stop_execution_aborts(make_engine: EngineFactory) -> None:
    engine = make_engine({})
    arn = engine.register_state_machine(
        "waiting", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )
    engine.start()
    engine.start_execution(arn, {}, name="w1")
    engine.stop_execution("w1", error="Cancelled", cause="by a person")
    done = engine.wait_for("w1", timeout=5)
    assert done.status == "ABORTED"
    assert done.error == "Cancelled"
    assert types(engine, "w1")[-1] == "ExecutionAborted"


def test_engine_fault_fails_the_execution_visibly(
    make_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bakusoku.workflow.interpreter import Interpreter

    def broken_run(self: Interpreter, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(Interpreter, "run", broken_run)
    engine = make_engine({})
    arn = engine.register_state_machine(
        "p", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    engine.start()
    engine.start_execution(arn, {}, name="bug")
    done = engine.wait_for("bug", timeout=5)
    assert done.status == "FAILED" and done.error == "States.Runtime"
    assert done.cause is not None and "RuntimeError: bug" in done.cause


def test_database_fault_resumes_the_execution_later(
    make_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bakusoku.workflow.history import ExecutionRecorder

    original = ExecutionRecorder.checkpoint
    failures = [1]

    def flaky_checkpoint(self: ExecutionRecorder, *args: Any) -> None:
        if failures:
            failures.pop()
            raise sa.exc.OperationalError("UPDATE executions", {}, Exception("database is locked"))
        original(self, *args)

    monkeypatch.setattr(ExecutionRecorder, "checkpoint", flaky_checkpoint)
    engine = make_engine({})
    engine.RESUME_AFTER_ERROR_SECONDS = 0.01
    arn = engine.register_state_machine(
        "p", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": True}}}
    )
    engine.start()
    engine.start_execution(arn, {}, name="locked")
    done = engine.wait_for("locked", timeout=5)
    assert done.status == "SUCCEEDED" and done.output == 1


def test_two_engines_share_a_database_and_run_each_execution_once(db: sa.Engine) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def work(event: Any) -> Any:
        with lock:
            calls.append(event["n"])
        return event

    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Task", "Resource": fn_arn("work"), "End": True}},
    }
    engines = [
        WorkflowEngine(
            db,
            FunctionInvoker({fn_arn("work"): work}),
            region=REGION,
            account=ACCOUNT,
            lease_seconds=0.3,
        )
        for _ in range(2)
    ]
    try:
        for engine in engines:
            engine.register_state_machine("shared", definition)
            engine.start()
        arn = engines[0].state_machine_arn("shared")
        for n in range(20):
            engines[n % 2].start_execution(arn, {"n": n}, name=f"s{n}")
        for n in range(20):
            assert engines[0].wait_for(f"s{n}", timeout=5).status == "SUCCEEDED"
        time.sleep(0.3)  # a few lease renewals and scans: nothing runs twice
    finally:
        for engine in engines:
            engine.stop()
    assert sorted(calls) == list(range(20))


def test_executions_of_a_dead_engine_are_taken_over_when_its_lease_expires(
    db: sa.Engine,
) -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "done", "End": True}}}
    starter = WorkflowEngine(db, FunctionInvoker({}), region=REGION, account=ACCOUNT)
    arn = starter.register_state_machine("orphans", definition)
    starter.start_execution(arn, {}, name="orphan")
    # A process that died while running it: its claim stands until the lease runs out.
    with db.begin() as conn:
        conn.execute(
            executions.update()
            .where(executions.c.name == "orphan")
            .values(owner="dead-host:1:abc", lease_until=time.time() + 0.5)
        )
    survivor = WorkflowEngine(
        db, FunctionInvoker({}), region=REGION, account=ACCOUNT, lease_seconds=0.3
    )
    survivor.register_state_machine("orphans", definition)
    survivor.start()
    try:
        assert survivor.describe_execution("orphan").status == "RUNNING"
        done = survivor.wait_for("orphan", timeout=5)
    finally:
        survivor.stop()
    assert done.status == "SUCCEEDED" and done.output == "done"


def test_stop_execution_from_another_engine_stops_the_running_one(db: sa.Engine) -> None:
    started = threading.Event()
    release = threading.Event()

    def slow(event: Any) -> str:
        started.set()
        release.wait(5)
        return "late"

    definition = {
        "StartAt": "S",
        "States": {
            "S": {"Type": "Task", "Resource": fn_arn("slow"), "Next": "After"},
            "After": {"Type": "Pass", "End": True},
        },
    }
    runner = WorkflowEngine(
        db, FunctionInvoker({fn_arn("slow"): slow}), region=REGION, account=ACCOUNT
    )
    arn = runner.register_state_machine("remote", definition)
    runner.start()
    try:
        runner.start_execution(arn, {}, name="remote-stop")
        assert started.wait(5)
        other = WorkflowEngine(db, FunctionInvoker({}), region=REGION, account=ACCOUNT)
        other.stop_execution("remote-stop", error="Operator", cause="stopped from the CLI")
        release.set()
        time.sleep(0.2)
        done = runner.describe_execution("remote-stop")
    finally:
        runner.stop()
    assert done.status == "ABORTED" and done.error == "Operator"
    kinds = [e.type for e in runner.get_execution_history("remote-stop")]
    assert kinds[-1] == "ExecutionAborted"
    assert "PassStateEntered" not in kinds


def test_a_resumed_wait_only_waits_for_what_remains(db: sa.Engine) -> None:
    definition = {
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": 20, "End": True}},  # 1 s at 0.05
    }

    def engine() -> WorkflowEngine:
        return WorkflowEngine(
            db, FunctionInvoker({}), region=REGION, account=ACCOUNT, time_scale=0.05
        )

    first = engine()
    arn = first.register_state_machine("pausing", definition)
    first.start()
    first.start_execution(arn, {}, name="pause")
    time.sleep(0.6)
    first.stop()
    second = engine()
    second.register_state_machine("pausing", definition)
    began = time.monotonic()
    second.start()
    try:
        assert second.wait_for("pause", timeout=5).status == "SUCCEEDED"
    finally:
        second.stop()
    assert time.monotonic() - began < 0.9  # a full second again would mean it started over


PARALLEL_TWO = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "A",
                    "States": {"A": {"Type": "Task", "Resource": fn_arn("a"), "End": True}},
                },
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Task", "Resource": fn_arn("b"), "End": True}},
                },
            ],
            "End": True,
        }
    },
}


def test_redrive_reruns_only_the_failed_parallel_branch(make_engine: EngineFactory) -> None:
    a_calls: list[int] = []
    b_calls: list[int] = []
    a_done = threading.Event()

    def a(event: Any) -> str:
        a_calls.append(1)
        a_done.set()
        return "a"

    def b(event: Any) -> str:
        b_calls.append(1)
        if len(b_calls) == 1:
            # Fail only once branch A has finished (its state exited), so it is not aborted.
            assert a_done.wait(5)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(
                e.type == "TaskStateExited" and e.state_name == "A"
                for e in engine.get_execution_history("pr")
            ):
                time.sleep(0.005)
            raise ImageBrokenError("b broke")
        return "b"

    engine = make_engine({fn_arn("a"): a, fn_arn("b"): b})
    arn = engine.register_state_machine("par-redrive", PARALLEL_TWO)
    engine.start()
    engine.start_execution(arn, {}, name="pr")
    assert engine.wait_for("pr", timeout=5).status == "FAILED"
    engine.redrive_execution("pr")
    done = engine.wait_for("pr", timeout=5)
    assert done.status == "SUCCEEDED" and done.output == ["a", "b"]
    assert (len(a_calls), len(b_calls)) == (1, 2)


def test_restart_keeps_the_parallel_branches_that_finished(db: sa.Engine) -> None:
    a_calls: list[int] = []
    b_started = threading.Event()

    def a(event: Any) -> str:
        a_calls.append(1)
        return "a"

    def b_stuck(event: Any) -> str:
        b_started.set()
        threading.Event().wait(2)
        return "late"

    def b_quick(event: Any) -> str:
        return "b"

    first = WorkflowEngine(
        db, FunctionInvoker({fn_arn("a"): a, fn_arn("b"): b_stuck}), region=REGION, account=ACCOUNT
    )
    arn = first.register_state_machine("par-restart", PARALLEL_TWO)
    first.start()
    first.start_execution(arn, {}, name="pk")
    assert b_started.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # until branch A's success is stored with the checkpoint
        with db.connect() as conn:
            checkpoint = conn.execute(
                sa.select(executions.c.checkpoint).where(executions.c.name == "pk")
            ).scalar()
        if checkpoint and checkpoint.get("children"):
            break
        time.sleep(0.01)
    first.stop()
    second = WorkflowEngine(
        db, FunctionInvoker({fn_arn("a"): a, fn_arn("b"): b_quick}), region=REGION, account=ACCOUNT
    )
    second.register_state_machine("par-restart", PARALLEL_TWO)
    second.start()
    try:
        done = second.wait_for("pk", timeout=5)
    finally:
        second.stop()
    assert done.output == ["a", "b"]
    assert len(a_calls) == 1
