"""States of both query languages in one machine, recorded on AWS (LocalStack's
``query_language/test_mixed_query_language``)."""

from __future__ import annotations

from tests.workflow.recorded.case import FUNCTION_ARN, LS, Case, echo

MIXED = LS + "query_language/test_mixed_query_language.py::TestMixedQueryLanguageFlow::"

_PASS_EVENTS = (
    "ExecutionStarted",
    "PassStateEntered",
    "PassStateExited",
    "PassStateEntered",
    "PassStateExited",
    "ExecutionSucceeded",
)
_RIDDLE = "What is the answer to life, the universe, and everything?"

CASES = [
    Case(
        MIXED + "test_variable_sampling[JSONATA_ASSIGN_JSONPATH_REF]",
        {
            "StartAt": "JSONataState",
            "States": {
                "JSONataState": {
                    "QueryLanguage": "JSONPath",
                    "Type": "Pass",
                    "Assign": {"theAnswerVar": 42},
                    "Next": "JSONPathState",
                },
                "JSONPathState": {
                    "QueryLanguage": "JSONPath",
                    "Type": "Pass",
                    "Assign": {"theAnswerVar": 18, "oldAnswerVar.$": "$theAnswerVar"},
                    "End": True,
                },
            },
        },
        {},
        output={},
        events=_PASS_EVENTS,
        assigned=(
            ("JSONataState", {"theAnswerVar": 42}),
            ("JSONPathState", {"oldAnswerVar": 42, "theAnswerVar": 18}),
        ),
    ),
    Case(
        MIXED + "test_variable_sampling[JSONPATH_ASSIGN_JSONATA_REF]",
        {
            "StartAt": "JSONPathState",
            "States": {
                "JSONPathState": {
                    "QueryLanguage": "JSONPath",
                    "Type": "Pass",
                    "Assign": {"theAnswer": 42},
                    "Next": "JSONataState",
                },
                "JSONataState": {
                    "QueryLanguage": "JSONata",
                    "Type": "Pass",
                    "Assign": {"theAnswer": 18, "oldAnswer": "{% $theAnswer %}"},
                    "End": True,
                },
            },
        },
        {},
        output={},
        events=_PASS_EVENTS,
        assigned=(
            ("JSONPathState", {"theAnswer": 42}),
            ("JSONataState", {"oldAnswer": 42, "theAnswer": 18}),
        ),
    ),
    Case(
        MIXED + "test_output_to_state[JSONATA_OUTPUT_TO_JSONPATH]",
        {
            "StartAt": "JSONataState",
            "States": {
                "JSONataState": {
                    "QueryLanguage": "JSONata",
                    "Type": "Pass",
                    "Output": {"foo": "foobar", "bar": "{% $states.input %}"},
                    "Next": "JSONPathState",
                },
                "JSONPathState": {"QueryLanguage": "JSONPath", "Type": "Pass", "End": True},
            },
        },
        {"input_data": "test"},
        output={"foo": "foobar", "bar": {"input_data": "test"}},
        events=_PASS_EVENTS,
    ),
    Case(
        MIXED + "test_output_to_state[JSONPATH_OUTPUT_TO_JSONATA]",
        {
            "StartAt": "JSONataState",
            "States": {
                "JSONataState": {
                    "QueryLanguage": "JSONPath",
                    "Type": "Pass",
                    "Parameters": {"foo": "foobar", "bar.$": "$"},
                    "Next": "JSONPathState",
                },
                "JSONPathState": {"QueryLanguage": "JSONata", "Type": "Pass", "End": True},
            },
        },
        {"input_data": "test"},
        output={"foo": "foobar", "bar": {"input_data": "test"}},
        events=_PASS_EVENTS,
    ),
    Case(
        MIXED + "test_task_dataflow_to_state",
        {
            "StartAt": "StateJsonPath",
            "States": {
                "StateJsonPath": {
                    "QueryLanguage": "JSONPath",
                    "Type": "Pass",
                    "Result": {"riddle": _RIDDLE},
                    "Assign": {"answer": 42, "inputData.$": "$"},
                    "OutputPath": "$",
                    "ResultPath": "$.enigma.mystery",
                    "Next": "StateJsonata",
                },
                "StateJsonata": {
                    "QueryLanguage": "JSONata",
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {
                        "FunctionName": "{% $states.input.functionName %}",
                        "Payload": {
                            "theQuestion": "{% $states.input.enigma.mystery.riddle %}",
                            "theAnswer": "{% $answer %}",
                        },
                    },
                    "Assign": {"answer": "<omitted>", "message": "{% $states.result %}"},
                    "Output": {"result": "{% $states.result.Payload %}"},
                    "End": True,
                },
            },
        },
        {"functionName": FUNCTION_ARN},
        output={"result": {"theQuestion": _RIDDLE, "theAnswer": 42}},
        events=(
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ),
        functions={FUNCTION_ARN: echo},
    ),
]
