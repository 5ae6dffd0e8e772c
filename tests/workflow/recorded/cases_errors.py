"""Lambda task failures, Catch and Retry with JSONata outputs and variables, recorded on AWS
(LocalStack's ``states_variables`` and ``error_handling``)."""

from __future__ import annotations

from typing import Any

from tests.workflow.recorded.case import FUNCTION_ARN, LS, Case, raise_exception

STATE_VARIABLES = LS + "states_variables/test_error_output.py::TestStateVariablesTemplate::"

# The Python 3.12 runtime's error document, as lambda:invoke's Cause gives it (compact).
_RAISED = (
    '{"errorMessage":"Some exception was raised.","errorType":"Exception",'
    '"requestId":"<request-id>","stackTrace":[]}'
)
_STATE_ERROR = {"Error": "Exception", "Cause": _RAISED}


def _invoke_task(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": FUNCTION_ARN, "Payload": {"foo": "foobar"}},
        **fields,
    }


_CATCH_OUTPUT = {
    "ErrorEquals": ["States.ALL"],
    "Output": {"stateInput": "{% $states.input %}", "stateError": "{% $states.errorOutput %}"},
    "Next": "Fallback",
}
_TASK_OUTPUT = {"stateInput": "{% $states.input %}", "stateResult": "{% $states.result %}"}


def _catch_error_output(retry: bool, to_jsonpath: bool) -> dict[str, Any]:
    task = _invoke_task(QueryLanguage="JSONata", Catch=[_CATCH_OUTPUT], Output=_TASK_OUTPUT)
    if retry:
        task["Retry"] = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    task["Next"] = "Finish"
    jsonata = {"QueryLanguage": "JSONata"}
    fallback: dict[str, Any] = {"Type": "Pass", "End": True}
    finish: dict[str, Any] = {"Type": "Pass", "End": True}
    if not to_jsonpath:
        fallback |= {**jsonata, "Output": {"error": "{% $states.input %}"}}
        finish |= {**jsonata, "Output": {"result": "{% $states.input %}"}}
    return {"StartAt": "Task", "States": {"Task": task, "Fallback": fallback, "Finish": finish}}


def _variable_sampling(to_jsonpath: bool) -> dict[str, Any]:
    task = _invoke_task(
        Catch=[
            {
                "ErrorEquals": ["States.ALL"],
                "Assign": {
                    "inputVar": "{% $states.input %}",
                    "errorVar": "{% $states.errorOutput %}",
                },
                "Next": "Fallback",
            }
        ],
        Assign={"inputVar": "{% $states.input %}", "resultVar": "{% $states.result %}"},
        Next="Finish",
    )
    fallback: dict[str, Any] = {"Type": "Pass", "Output": {"error": "{% $errorVar %}"}, "End": True}
    finish: dict[str, Any] = {"Type": "Pass", "Output": {"result": "{% $resultVar %}"}, "End": True}
    machine: dict[str, Any] = {"StartAt": "Task", "States": {"Task": task}}
    if to_jsonpath:
        task["QueryLanguage"] = "JSONata"
        fallback = {"Type": "Pass", "Parameters": {"error.$": "$errorVar"}, "End": True}
        finish = {"Type": "Pass", "Parameters": {"result.$": "$resultVar"}, "End": True}
    else:
        machine["QueryLanguage"] = "JSONata"
    machine["States"] |= {"Fallback": fallback, "Finish": finish}
    return machine


_FUNCTIONS = {FUNCTION_ARN: raise_exception}
_CAUGHT = {"stateInput": {"inputData": "dummy"}, "stateError": _STATE_ERROR}
_TASK_CAUGHT_EVENTS = (
    "ExecutionStarted",
    "TaskStateEntered",
    "TaskScheduled",
    "TaskStarted",
    "TaskFailed",
    "TaskStateExited",
    "PassStateEntered",
    "PassStateExited",
    "ExecutionSucceeded",
)

CASES = [
    Case(
        STATE_VARIABLES + "test_task_catch_error_output[TASK_CATCH_ERROR_OUTPUT]",
        _catch_error_output(retry=False, to_jsonpath=False),
        {"inputData": "dummy"},
        output={"error": _CAUGHT},
        events=_TASK_CAUGHT_EVENTS,
        functions=_FUNCTIONS,
    ),
    Case(
        STATE_VARIABLES + "test_task_catch_error_output[TASK_CATCH_ERROR_OUTPUT_TO_JSONPATH]",
        _catch_error_output(retry=False, to_jsonpath=True),
        {"inputData": "dummy"},
        output=_CAUGHT,
        events=_TASK_CAUGHT_EVENTS,
        functions=_FUNCTIONS,
    ),
    Case(
        STATE_VARIABLES + "test_catch_error_variable_sampling[TASK_CATCH_ERROR_VARIABLE_SAMPLING]",
        _variable_sampling(to_jsonpath=False),
        {"inputData": "dummy"},
        output={"error": _STATE_ERROR},
        events=_TASK_CAUGHT_EVENTS,
        assigned=(("Task", {"errorVar": _STATE_ERROR, "inputVar": {"inputData": "dummy"}}),),
        functions=_FUNCTIONS,
    ),
]

TASK_LAMBDA = LS + "error_handling/test_task_lambda.py::TestTaskLambda::"

# A plain function ARN gives the error document as the Python runtime wrote it (with spaces).
_RAISED_SPACED = (
    '{"errorMessage": "Some exception was raised.", "errorType": "Exception", '
    '"requestId": "<request-id>", "stackTrace": []}'
)


def _legacy_task(catchers: list[tuple[str, str]], handlers: dict[str, str]) -> dict[str, Any]:
    states: dict[str, Any] = {
        "Start": {
            "Type": "Task",
            "Resource": FUNCTION_ARN,
            "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"},
            "Catch": [{"ErrorEquals": [error], "Next": target} for error, target in catchers],
            "Next": "EndWithFinal",
        },
        "EndWithFinal": {"Type": "Pass", "ResultPath": "$.final", "End": True},
    }
    for name, result_path in handlers.items():
        states[name] = {"Type": "Pass", "ResultPath": result_path, "End": True}
    return {"StartAt": "Start", "States": states}


CASES += [
    Case(
        TASK_LAMBDA + "test_raise_exception",
        _legacy_task([("Lambda.Unknown", "EndWithHandler")], {"EndWithHandler": "$.error"}),
        {"FunctionName": "fn", "Payload": None},
        status="FAILED",
        error="Exception",
        cause=_RAISED_SPACED,
        events=(
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "ExecutionFailed",
        ),
        functions=_FUNCTIONS,
    ),
    Case(
        TASK_LAMBDA + "test_raise_exception_catch",
        _legacy_task(
            [
                ("Lambda.Unknown", "EndWithLambdaUnknownHandler"),
                ("States.TaskFailed", "EndWithStateTaskFailedHandler"),
                ("States.ALL", "EndWithAllHandler"),
            ],
            {
                "EndWithLambdaUnknownHandler": "$.lambda_unknown",
                "EndWithStateTaskFailedHandler": "$.task_failed_error",
                "EndWithAllHandler": "$.all_error",
            },
        ),
        {"FunctionName": "fn", "Payload": None},
        output={
            "Error": "Exception",
            "Cause": _RAISED_SPACED,
            "task_failed_error": {"Error": "Exception", "Cause": _RAISED_SPACED},
        },
        events=(
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ),
        functions=_FUNCTIONS,
    ),
]
