"""Developer guide, "Handling errors in Step Functions workflows": Retry, Catch, the predefined
error names, and how Lambda function errors reach the state machine."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from bakusoku.workflow import run_definition
from tests.workflow.conformance.helpers import ARN, fails, failure, run, single, succeeds


class CustomError(Exception):
    pass


def _raise(_event: Any) -> Any:
    raise CustomError("This is a custom error!")


def test_a_lambda_exception_becomes_the_error_and_its_payload_the_cause() -> None:
    result = fails(single({"Type": "Task", "Resource": ARN.format("f")}), {}, {"f": _raise})
    assert result.error == "CustomError"
    cause = json.loads(result.cause or "")
    assert cause["errorMessage"] == "This is a custom error!"
    assert cause["errorType"] == "CustomError"
    assert isinstance(cause["stackTrace"], list) and cause["stackTrace"]
    failed = result.events("LambdaFunctionFailed")[0]
    assert failed.details == {"error": "CustomError", "cause": result.cause}


def test_lambda_invoke_errors_map_the_same_way_and_unknown_functions_are_not_found() -> None:
    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload.$": "$"},
        }
    )
    assert fails(definition, {}, {"f": _raise}).error == "CustomError"
    assert fails(definition, {}, {}).error == "Lambda.ResourceNotFoundException"


def test_lambda_invoke_wraps_the_result_as_the_optimized_integration() -> None:
    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f:live",
                "Payload.$": "$",
            },
        }
    )
    output = succeeds(
        definition,
        {"a": 1},
        {
            "f": lambda event, context: {
                "got": event,
                "fn": context.function_name,
                "arn": context.invoked_function_arn,
                "left": context.get_remaining_time_in_millis(),
            }
        },
    )
    payload = output["Payload"]
    assert {k: payload[k] for k in ("got", "fn", "arn")} == {
        "got": {"a": 1},
        "fn": "f",
        "arn": "arn:aws:lambda:us-east-1:123456789012:function:f:live",
    }
    assert 0 < payload["left"] <= 900_000  # no TimeoutSeconds: Lambda's largest timeout
    assert output["StatusCode"] == 200 and output["ExecutedVersion"] == "$LATEST"
    assert set(output) >= {"SdkHttpMetadata", "SdkResponseMetadata"}


def test_retry_then_catch_with_the_guide_fields() -> None:
    calls: list[int] = []

    def flaky(_event: Any) -> Any:
        calls.append(1)
        raise CustomError("again")

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": ARN.format("flaky"),
                "Retry": [
                    {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 5},
                    {
                        "ErrorEquals": ["CustomError"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 2,
                        "BackoffRate": 2.0,
                        "MaxDelaySeconds": 10,
                        "JitterStrategy": "FULL",
                    },
                    {"ErrorEquals": ["States.ALL"], "MaxAttempts": 9},
                ],
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error-info", "Next": "Recover"}
                ],
                "End": True,
            },
            "Recover": {"Type": "Pass", "End": True},
        },
    }
    output = succeeds(definition, {"x": 1}, {"flaky": flaky})
    assert len(calls) == 3  # the first matching retrier alone counts: 1 try + 2 retries
    assert output["x"] == 1
    assert output["error-info"]["Error"] == "CustomError"


def test_retry_intervals_grow_by_the_backoff_rate() -> None:
    definition = single(
        {
            "Type": "Task",
            "Resource": ARN.format("f"),
            "Retry": [
                {
                    "ErrorEquals": ["States.TaskFailed"],
                    "IntervalSeconds": 3,
                    "MaxAttempts": 2,
                    "BackoffRate": 2,
                }
            ],
        }
    )
    result = run(definition, {}, {"f": _raise})
    assert result.status == "FAILED"
    starts = [e.timestamp for e in result.events("LambdaFunctionScheduled")]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert [round(gap) for gap in gaps] == [3, 6]


def test_task_timeout_is_states_timeout_and_not_task_failed() -> None:
    import time

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": ARN.format("slow"),
                "TimeoutSeconds": 1,
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    result = fails(definition, {}, {"slow": lambda _e: time.sleep(3)})
    assert result.error == "States.Timeout"
    # Recorded on AWS (LocalStack's snapshot test_timeouts::test_fixed_timeout_lambda): a timed
    # out task has no cause, in its event or in the execution's end.
    assert result.cause is None
    assert result.events("LambdaFunctionTimedOut")[0].details == {"error": "States.Timeout"}
    assert result.events("ExecutionFailed")[0].details == {"error": "States.Timeout"}


def test_a_caught_task_timeout_has_an_empty_cause() -> None:
    # Recorded on AWS (LocalStack's snapshot test_task_service_lambda::test_invoke_timeout):
    # a lambda:invoke past its TimeoutSeconds records TaskTimedOut with the error alone, and
    # its catcher sees {"Error": "States.Timeout", "Cause": ""}.
    import time

    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": ARN.format("slow"), "Payload.$": "$"},
                "TimeoutSeconds": 1,
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "End"}
                ],
                "End": True,
            },
            "End": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, {"Error": "x"}, {"slow": lambda _e: time.sleep(3)})
    assert result.output == {"Error": "x", "error": {"Error": "States.Timeout", "Cause": ""}}
    assert result.events("TaskTimedOut")[0].details == {
        "resourceType": "lambda",
        "resource": "invoke",
        "error": "States.Timeout",
    }


def test_heartbeat_seconds_on_a_callback_task() -> None:
    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"MessageBody": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 1,
            "TimeoutSeconds": 30,
        }
    )
    result = fails(
        definition, {}, {"arn:aws:states:::sqs:sendMessage.waitForTaskToken": lambda _e: {}}
    )
    # Recorded on AWS (LocalStack's snapshot test_heartbeats::test_heartbeat_timeout, an SQS
    # .waitForTaskToken task with HeartbeatSeconds 5 and TimeoutSeconds 600 that hears
    # nothing): TaskTimedOut and the execution's failure name States.Timeout, with no cause.
    assert (result.error, result.cause) == ("States.Timeout", None)
    assert result.events("TaskTimedOut")[0].details == {
        "resourceType": "sqs",
        "resource": "sendMessage.waitForTaskToken",
        "error": "States.Timeout",
    }


_TOO_LARGE = "returned a result with a size exceeding the maximum number of bytes service limit."


@pytest.mark.parametrize("integration", [False, True])
def test_a_task_result_over_the_quota_is_a_task_failure_states_all_catches(
    integration: bool,
) -> None:
    # Recorded on AWS (LocalStack's snapshot test_states_errors::
    # test_{service_,}task_lambda{,_catch_state_all}_data_limit_exceeded_on_large_utf8_response):
    # the Lambda*Failed or TaskFailed event carries States.DataLimitExceeded, naming the function
    # ARN (plain function ARN) or "lambda" (lambda:invoke), and a Catch on States.ALL takes it.
    task: dict[str, Any] = {"Type": "Task", "Resource": ARN.format("big")}
    owner = ARN.format("big")
    if integration:
        task["Resource"] = "arn:aws:states:::lambda:invoke"
        task["Parameters"] = {"FunctionName": ARN.format("big"), "Payload.$": "$"}
        owner = "lambda"
    definition = {
        "StartAt": "InvokeLambda",
        "States": {
            "InvokeLambda": {
                **task,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "HandleGeneralError"}],
                "Next": "ProcessResult",
            },
            "ProcessResult": {"Type": "Pass", "End": True},
            "HandleGeneralError": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, {}, {"big": lambda _e: "a" * 300_000})
    cause = f"The state/task '{owner}' {_TOO_LARGE}"
    assert result.output == {"Error": "States.DataLimitExceeded", "Cause": cause}
    failed = result.events("TaskFailed" if integration else "LambdaFunctionFailed")[0]
    assert (failed.details["error"], failed.details["cause"]) == ("States.DataLimitExceeded", cause)


def test_a_state_output_over_the_quota_fails_the_execution() -> None:
    # Recorded on AWS (test_states_errors::test_start_large_input): a Pass state's Result over
    # 256 KiB fails the execution, naming the state.
    definition = {
        "StartAt": "State_1",
        "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "a" * 263_168}, "End": True}},
    }
    assert failure(fails(definition, {})) == (
        "States.DataLimitExceeded",
        f"The state/task 'State_1' {_TOO_LARGE}",
    )


@pytest.mark.parametrize(
    ("error_equals", "caught"),
    [
        (["States.ALL"], True),
        (["States.TaskFailed"], True),
        (["Other"], False),
        (["Other", "CustomError"], True),
    ],
)
def test_catch_matching(error_equals: list[str], caught: bool) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": ARN.format("f"),
                "Catch": [{"ErrorEquals": error_equals, "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Result": "caught", "End": True},
        },
    }
    result = run(definition, {}, {"f": _raise})
    assert (result.output == "caught") is caught


def test_execution_timeout_seconds() -> None:
    definition = {"TimeoutSeconds": 5, **single({"Type": "Wait", "Seconds": 60})}
    result = run(definition, {})
    # Recorded on AWS (LocalStack's snapshot test_timeouts::test_global_timeout): a timed-out
    # execution is described with no error and no cause; its ExecutionTimedOut event names
    # States.Timeout.
    assert (result.status, result.error, result.cause) == ("TIMED_OUT", None, None)
    assert result.history[-1].type == "ExecutionTimedOut"
    assert result.history[-1].details == {"error": "States.Timeout"}


def test_execution_timeout_ends_the_run_while_a_task_is_still_busy() -> None:
    import threading
    import time

    release = threading.Event()
    definition = {
        "TimeoutSeconds": 1,
        **single({"Type": "Task", "Resource": ARN.format("stuck")}),
    }
    began = time.monotonic()
    try:
        result = run_definition(definition, {}, functions={"stuck": lambda _e: release.wait(10)})
    finally:
        release.set()
    assert (result.status, result.history[-1].details) == (
        "TIMED_OUT",
        {"error": "States.Timeout"},
    )
    assert time.monotonic() - began < 5  # not after the task's 10 s


def test_a_task_error_reads_as_lambda_reports_it() -> None:
    def broken(_event: Any) -> None:
        raise KeyError("missing")

    result = fails(
        single({"Type": "Task", "Resource": ARN.format("broken")}), {}, {"broken": broken}
    )
    assert result.error == "KeyError"
    cause = json.loads(result.cause or "")
    assert cause["errorType"] == "KeyError" and cause["errorMessage"] == "'missing'"
