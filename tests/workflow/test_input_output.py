"""Input and output processing in this engine: payload templates' key order, null paths, the
context object under the tests' clock, Catch output, the Lambda invoke integration's history,
timeouts and payload quotas. The developer guide's examples are in
tests/workflow/conformance/test_input_output_processing.py."""

from __future__ import annotations

from typing import Any

import pytest

from bakusoku.workflow.dataflow import dynamic_key_order
from bakusoku.workflow.errors import StatesError
from tests.workflow.conformance.helpers import single

from .conftest import MemorySink, fn_arn, run_definition


def test_payload_template_keys_come_out_in_step_functions_order() -> None:
    # Recorded on AWS: fixed keys as written, then the `name.$` keys in Java HashMap order.
    definition = single(
        {
            "Type": "Pass",
            "Parameters": {
                "FunctionName.$": "$.f",
                "Payload": {"encoded.$": "$.e", "decoded.$": "$.d"},
                "stringOps": {"splitString.$": "$.s", "formattedString.$": "$.s"},
            },
        }
    )
    output = run_definition(definition, {"f": "fn", "e": 1, "d": 2, "s": "x"})
    assert list(output) == ["Payload", "stringOps", "FunctionName"]
    assert list(output["Payload"]) == ["decoded", "encoded"]
    assert list(output["stringOps"]) == ["formattedString", "splitString"]


def test_dynamic_key_order_grows_the_table_as_java_does() -> None:
    # Thirteen keys take Java's table past 12 entries to 32 buckets (recorded $$ fields).
    names = [
        "context_object",
        "execution",
        "execution_id",
        "execution_input",
        "execution_name",
        "execution_rolearn",
        "execution_starttime",
        "state",
        "state_enteredtime",
        "state_name",
        "statemachine",
        "statemachine_id",
        "statemachine_name",
    ]
    order = dynamic_key_order(tuple(f"{name}.$" for name in names))
    assert [key[:-2] for key in order] == [
        "execution",
        "execution_rolearn",
        "execution_name",
        "statemachine_id",
        "execution_id",
        "execution_input",
        "execution_starttime",
        "state_name",
        "state_enteredtime",
        "statemachine",
        "state",
        "context_object",
        "statemachine_name",
    ]


def test_null_input_and_output_paths_give_empty_objects() -> None:
    seen: list[Any] = []

    def record(event: Any) -> str:
        seen.append(event)
        return "r"

    definition = single({"Type": "Task", "Resource": fn_arn("r"), "InputPath": None})
    assert run_definition(definition, {"a": 1}, {fn_arn("r"): record}) == "r"
    assert seen == [{}]
    definition = single({"Type": "Pass", "OutputPath": None})
    assert run_definition(definition, {"a": 1}) == {}


def test_context_object_in_parameters() -> None:
    definition = single(
        {
            "Type": "Pass",
            "Parameters": {
                "execution.$": "$$.Execution.Id",
                "name.$": "$$.Execution.Name",
                "input.$": "$$.Execution.Input",
                "start.$": "$$.Execution.StartTime",
                "state.$": "$$.State.Name",
                "machine.$": "$$.StateMachine.Name",
                "entered.$": "$$.State.EnteredTime",
            },
        }
    )
    output = run_definition(definition, {"k": "v"})
    assert output["execution"].endswith(":execution:test:exec-1")
    assert output["name"] == "exec-1"
    assert output["input"] == {"k": "v"}
    assert output["start"] == "2023-11-14T22:13:20.000Z"
    assert output["state"] == "S"
    assert output["machine"] == "test"
    assert output["entered"].endswith("Z")


def test_catch_output_shape_and_result_path() -> None:
    def fail(event: Any) -> None:
        raise KeyError("photo")

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": fn_arn("fail"),
                "InputPath": "$.inner",
                "Catch": [{"ErrorEquals": ["KeyError"], "ResultPath": "$.error", "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    output = run_definition(definition, {"inner": {"x": 1}, "other": 2}, {fn_arn("fail"): fail})
    assert set(output) == {"inner", "other", "error"}
    assert set(output["error"]) == {"Error", "Cause"}
    assert output["error"]["Error"] == "KeyError"


def test_catch_without_result_path_replaces_input_with_error() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": fn_arn("fail"),
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    output = run_definition(definition, {"a": 1}, {fn_arn("fail"): lambda e: 1 / 0})
    assert output["Error"] == "ZeroDivisionError"
    assert "division by zero" in output["Cause"]


def test_lambda_invoke_integration_wraps_the_result() -> None:
    seen: list[Any] = []

    def fn(event: Any) -> dict[str, Any]:
        seen.append(event)
        return {"ok": True}

    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "my-fn", "Payload": {"id.$": "$.id"}},
        }
    )
    sink = MemorySink()
    output = run_definition(definition, {"id": 5}, {fn_arn("my-fn"): fn}, sink=sink)
    assert seen == [{"id": 5}]
    assert output["Payload"] == {"ok": True}
    assert output["StatusCode"] == 200
    assert output["ExecutedVersion"] == "$LATEST"
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert "RequestId" in output["SdkResponseMetadata"]
    assert sink.types == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
    ]
    scheduled = sink.events[1].details
    assert scheduled is not None
    assert scheduled["resourceType"] == "lambda" and scheduled["resource"] == "invoke"


def test_task_timeout_is_states_timeout() -> None:
    import threading

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": fn_arn("slow"),
                "TimeoutSeconds": 10,  # 10 ms at the tests' time scale
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}],
                "End": True,
            },
            "Late": {"Type": "Pass", "End": True},
        },
    }
    sink = MemorySink()
    output = run_definition(
        definition, {}, {fn_arn("slow"): lambda e: threading.Event().wait(1)}, sink=sink
    )
    assert output["Error"] == "States.Timeout"
    assert "LambdaFunctionTimedOut" in sink.types


def test_states_task_failed_does_not_match_timeout() -> None:
    import threading

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": fn_arn("slow"),
                "TimeoutSeconds": 10,
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Late"}],
                "End": True,
            },
            "Late": {"Type": "Pass", "End": True},
        },
    }
    with pytest.raises(StatesError) as failure:
        run_definition(definition, {}, {fn_arn("slow"): lambda e: threading.Event().wait(1)})
    assert failure.value.error == "States.Timeout"


def test_a_task_result_over_the_payload_quota_is_a_catchable_task_failure() -> None:
    big = "x" * 300_000
    definition: dict[str, Any] = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": fn_arn("big"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    output = run_definition(definition, {}, {fn_arn("big"): lambda e: big})
    assert output["Error"] == "States.DataLimitExceeded"
    assert output["Cause"] == (
        f"The state/task '{fn_arn('big')}' returned a result with a size exceeding the maximum "
        "number of bytes service limit."
    )


def test_a_state_output_over_the_payload_quota_fails_the_execution() -> None:
    definition = single({"Type": "Pass", "Result": {"Arg1": "a" * 300_000}})
    with pytest.raises(StatesError) as failure:
        run_definition(definition, {})
    assert failure.value.error == "States.DataLimitExceeded"
    assert failure.value.cause == (
        "The state/task 'S' returned a result with a size exceeding the maximum number of bytes "
        "service limit."
    )


def test_execution_input_over_the_quota_is_refused(make_engine: Any) -> None:
    from bakusoku.workflow.errors import WorkflowError

    engine = make_engine({})
    arn = engine.register_state_machine(
        "p", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    with pytest.raises(WorkflowError, match="quota"):
        engine.start_execution(arn, {"blob": "x" * 300_000})
