"""Callback tasks (.waitForTaskToken), heartbeats, execution timeouts and multi-retrier counting."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bakusoku.workflow.callbacks import TaskDoesNotExistError
from bakusoku.workflow.engine import WorkflowEngine

from .conftest import EngineFactory, MemorySink, fn_arn, run_definition


def callback_machine(**task_fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": fn_arn("notify"),
                    "Payload": {"token.$": "$$.Task.Token", "photo.$": "$.photo"},
                },
                "ResultPath": "$.review",
                **task_fields,
                "End": True,
            }
        },
    }


def answer_with(engine_box: list[WorkflowEngine], how: str) -> Any:
    def notify(event: dict[str, Any]) -> str:
        token = event["token"]

        def later() -> None:
            engine = engine_box[0]
            if how == "success":
                engine.send_task_heartbeat(token)
                engine.send_task_success(token, '{"approved": true}')
            else:
                engine.send_task_failure(token, "Rejected", "blurry")

        threading.Timer(0.02, later).start()
        return "sent"

    return notify


@pytest.mark.parametrize("how", ["success", "failure"])
def test_wait_for_task_token(make_engine: EngineFactory, how: str) -> None:
    box: list[WorkflowEngine] = []
    engine = make_engine({fn_arn("notify"): answer_with(box, how)})
    box.append(engine)
    arn = engine.register_state_machine("callback", callback_machine(TimeoutSeconds=3600))
    engine.start()
    engine.start_execution(arn, {"photo": "p1"}, name=f"cb-{how}")
    done = engine.wait_for(f"cb-{how}", timeout=5)
    kinds = [e.type for e in engine.get_execution_history(f"cb-{how}")]
    assert kinds[:5] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
    ]
    if how == "success":
        assert done.status == "SUCCEEDED"
        assert done.output == {"photo": "p1", "review": {"approved": True}}
        assert "TaskSucceeded" in kinds
    else:
        assert done.status == "FAILED"
        assert (done.error, done.cause) == ("Rejected", "blurry")
        assert "TaskFailed" in kinds


def test_unknown_token(make_engine: EngineFactory) -> None:
    engine = make_engine({})
    with pytest.raises(TaskDoesNotExistError):
        engine.send_task_success("nope", "{}")


def test_heartbeat_timeout() -> None:
    sink = MemorySink()
    definition = callback_machine(TimeoutSeconds=100000, HeartbeatSeconds=5)
    definition["States"]["Ask"]["Catch"] = [
        {"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.error", "Next": "Late"}
    ]
    definition["States"]["Ask"].pop("End")
    definition["States"]["Ask"]["Next"] = "Late"
    definition["States"]["Late"] = {"Type": "Pass", "End": True}
    output = run_definition(
        definition, {"photo": "p"}, {fn_arn("notify"): lambda e: "ok"}, sink=sink
    )
    # Caught as States.HeartbeatTimeout, reported as States.Timeout (as AWS records it).
    assert output["error"] == {"Error": "States.Timeout", "Cause": ""}
    assert "TaskTimedOut" in sink.types


def test_execution_timeout(make_engine: EngineFactory) -> None:
    engine = make_engine({})
    arn = engine.register_state_machine(
        "slow",
        {
            "TimeoutSeconds": 20,  # 20 ms at the tests' time scale
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}},
        },
    )
    engine.start()
    engine.start_execution(arn, {}, name="too-slow")
    done = engine.wait_for("too-slow", timeout=5)
    assert done.status == "TIMED_OUT"
    assert engine.get_execution_history("too-slow")[-1].type == "ExecutionTimedOut"


def test_retriers_count_separately_across_one_state_visit() -> None:
    # The States Language spec's example: errors A, B, C, B; the first retrier (MaxAttempts 2)
    # has retried twice when the fourth error arrives, so the Catch takes over.
    errors = iter(["ErrorA", "ErrorB", "ErrorC", "ErrorB", "ErrorB"])
    calls: list[str] = []

    class Failure(Exception):
        pass

    def failing(event: Any) -> None:
        name = next(errors)
        calls.append(name)
        raise type(name, (Failure,), {})("failed")

    definition = {
        "StartAt": "X",
        "States": {
            "X": {
                "Type": "Task",
                "Resource": fn_arn("x"),
                "Retry": [
                    {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "MaxAttempts": 2},
                    {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}],
                "Next": "Z",
            },
            "Z": {"Type": "Pass", "End": True},
        },
    }
    output = run_definition(definition, {}, {fn_arn("x"): failing})
    assert calls == ["ErrorA", "ErrorB", "ErrorC", "ErrorB"]
    assert output["Error"] == "ErrorB"
