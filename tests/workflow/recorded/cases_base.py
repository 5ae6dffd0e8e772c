"""Pass, Fail, Parallel and Map executions recorded on AWS (LocalStack's ``base`` and ``scenarios``)."""

from __future__ import annotations

from typing import Any

from tests.workflow.recorded.case import LS, Case

BASE = LS + "base/test_base.py::TestSnfBase::"
SCENARIOS = LS + "scenarios/test_base_scenarios.py::TestBaseScenarios::"

_FAIL_CAUSE = "This state machines raises a 'SomeFailure' failure."


def _pass(state: dict[str, object]) -> dict[str, object]:
    return {"StartAt": "State_1", "States": {"State_1": {"Type": "Pass", **state, "End": True}}}


_ITEM_SELECTOR = {
    "constantValue": "constant",
    "mapValue.$": "$$.Map.Item.Value",
    "fromInput.$": "$",
}
_SELECTED = [
    {"constantValue": "constant", "mapValue": "Hello", "fromInput": ["Hello", "World"]},
    {"constantValue": "constant", "mapValue": "World", "fromInput": ["Hello", "World"]},
]


def _item_selector_map(processor: str, config: dict[str, str]) -> dict[str, object]:
    return {
        "StartAt": "MapState",
        "States": {
            "MapState": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemSelector": _ITEM_SELECTOR,
                processor: {
                    "StartAt": "IteratorInner",
                    "States": {"IteratorInner": {"Type": "Pass", "End": True}},
                    "ProcessorConfig": config,
                },
                "Next": "Finish",
            },
            "Finish": {"Type": "Succeed"},
        },
    }


_ITERATION = ("MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded")
_FINISH = ("SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded")


def _failing_map(**handling: object) -> dict[str, object]:
    machine: dict[str, Any] = {
        "StartAt": "StartState",
        "States": {
            "StartState": {
                "Type": "Pass",
                "Result": [1],
                "ResultPath": "$.arr",
                "Next": "MapState",
            },
            "MapState": {
                "Type": "Map",
                "ResultPath": None,
                "InputPath": "$.arr",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "HandleItemFail",
                    "States": {
                        "HandleItemFail": {
                            "Type": "Fail",
                            "Error": "HandleItemFailError",
                            "Cause": "HandleItemFailCause",
                        }
                    },
                },
                **handling,
                "Next": "Final",
            },
            "Final": {"Type": "Pass", "End": True},
        },
    }
    if "Catch" in handling:
        machine["States"]["FinalCaught"] = {"Type": "Pass", "End": True}
    return machine


_SHIPPED = [
    {"prod": "R31", "dest-code": 9511, "quantity": 1344},
    {"prod": "S39", "dest-code": 9511, "quantity": 40},
    {"prod": "R31", "dest-code": 9833, "quantity": 12},
    {"prod": "R40", "dest-code": 9860, "quantity": 887},
    {"prod": "R40", "dest-code": 9511, "quantity": 1220},
]
_DETAIL = {"delivery-partner": "UQS", "shipped": _SHIPPED}

_FAILED_ITERATION = ("MapIterationStarted", "FailStateEntered", "MapIterationFailed")
_ITEM_ERROR = {"Error": "HandleItemFailError", "Cause": "HandleItemFailCause"}

CASES = [
    Case(
        BASE + "test_state_fail",
        {
            "StartAt": "FailState",
            "States": {"FailState": {"Type": "Fail", "Error": "SomeFailure", "Cause": _FAIL_CAUSE}},
        },
        {},
        status="FAILED",
        error="SomeFailure",
        cause=_FAIL_CAUSE,
        events=("ExecutionStarted", "FailStateEntered", "ExecutionFailed"),
    ),
    Case(
        BASE + "test_state_fail_path",
        {
            "StartAt": "FailState",
            "States": {
                "FailState": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"}
            },
        },
        {"Error": "error string", "Cause": "cause string"},
        status="FAILED",
        error="error string",
        cause="cause string",
        events=("ExecutionStarted", "FailStateEntered", "ExecutionFailed"),
    ),
    Case(
        BASE + "test_state_fail_intrinsic",
        {
            "StartAt": "FailState",
            "States": {
                "FailState": {
                    "Type": "Fail",
                    "ErrorPath": "States.Format('{}', $.Error)",
                    "CausePath": "States.Format('This is a custom error message for {}, caused by {}.', "
                    "$.Error, $.Cause)",
                }
            },
        },
        {"Error": "error string", "Cause": "cause string"},
        status="FAILED",
        error="error string",
        cause="This is a custom error message for error string, caused by cause string.",
    ),
    Case(
        BASE + "test_state_fail_empty",
        {"StartAt": "FailState", "States": {"FailState": {"Type": "Fail"}}},
        {},
        status="FAILED",
        events=("ExecutionStarted", "FailStateEntered", "ExecutionFailed"),
    ),
    Case(
        BASE + "test_state_pass_result",
        _pass({"Result": {"Arg1": "argument1"}}),
        {},
        output={"Arg1": "argument1"},
        events=("ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"),
    ),
    Case(
        BASE + "test_state_pass_result_jsonpaths",
        _pass({"Result": {"unsupported1.$": "$.jsonpath", "unsupported2.$": "$$"}}),
        {},
        output={"unsupported1.$": "$.jsonpath", "unsupported2.$": "$$"},
    ),
    Case(
        BASE + "test_state_pass_result_null_input_output_paths",
        {
            "StartAt": "State0",
            "States": {
                "State0": {
                    "Type": "Pass",
                    "Parameters": {"Arg1": "argument1", "FromInput.$": "$"},
                    "Next": "State1",
                },
                "State1": {
                    "Type": "Pass",
                    "InputPath": None,
                    "Parameters": {"Arg2": "argument2", "FromInput.$": "$"},
                    "Next": "State2",
                },
                "State2": {"Type": "Pass", "OutputPath": None, "End": True},
            },
        },
        {"InputValue": 0},
        output={},
    ),
    Case(
        BASE + "test_state_pass_regex_json_path_base",
        {
            "StartAt": "State0",
            "States": {
                "State0": {
                    "Type": "Pass",
                    "Parameters": {"FromInput.$": "$.users[?(@.status == 0)]"},
                    "End": True,
                }
            },
        },
        {"users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}]},
        output={"FromInput": [{"year": 1997, "status": 0}]},
    ),
    Case(
        SCENARIOS + "test_parallel_state",
        {
            "StartAt": "LoadInput",
            "States": {
                "LoadInput": {"Type": "Pass", "Result": [1, 2, 3, 4], "Next": "ParallelState"},
                "ParallelState": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        {
                            "StartAt": "Branch1",
                            "States": {"Branch1": {"Type": "Pass", "End": True}},
                        },
                        {
                            "StartAt": "Branch21",
                            "States": {
                                "Branch21": {"Type": "Pass", "Next": "Branch22"},
                                "Branch22": {"Type": "Pass", "End": True},
                            },
                        },
                        {
                            "StartAt": "Branch31",
                            "States": {
                                "Branch31": {"Type": "Pass", "Next": "Branch32"},
                                "Branch32": {"Type": "Pass", "Next": "Branch33"},
                                "Branch33": {"Type": "Pass", "End": True},
                            },
                        },
                    ],
                },
            },
        },
        {},
        output=[[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]],
    ),
    Case(
        SCENARIOS + "test_map_state_break_condition",
        {
            "StartAt": "StartState",
            "States": {
                "StartState": {
                    "Type": "Pass",
                    "Result": [1, "Hello", {}, 3.3, 3, 4, 5],
                    "ResultPath": "$.arr",
                    "Next": "MapState",
                },
                "MapState": {
                    "Type": "Map",
                    "ResultPath": None,
                    "InputPath": "$.arr",
                    "MaxConcurrency": 1,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Equals3",
                        "States": {
                            "Equals3": {
                                "Choices": [
                                    {
                                        "And": [
                                            {"IsPresent": True, "Variable": "$"},
                                            {
                                                "And": [
                                                    {"IsNumeric": True, "Variable": "$"},
                                                    {"NumericEquals": 3, "Variable": "$"},
                                                ]
                                            },
                                        ],
                                        "Next": "Break",
                                    }
                                ],
                                "Default": "Pass",
                                "Type": "Choice",
                            },
                            "Break": {"Type": "Fail", "Error": "SomeFailure", "Cause": _FAIL_CAUSE},
                            "Pass": {"Type": "Pass", "End": True},
                        },
                    },
                    "Next": "Final",
                },
                "Final": {"Type": "Pass", "End": True},
            },
        },
        {},
        status="FAILED",
        error="SomeFailure",
        cause=_FAIL_CAUSE,
    ),
    Case(
        SCENARIOS + "test_map_state_legacy_config_inline_item_selector",
        _item_selector_map("Iterator", {"Mode": "INLINE"}),
        ["Hello", "World"],
        output=_SELECTED,
        events=(
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            *_ITERATION * 2,
            "MapStateSucceeded",
            "MapStateExited",
            *_FINISH,
        ),
    ),
    Case(
        SCENARIOS + "test_map_state_config_distributed_item_selector",
        _item_selector_map("ItemProcessor", {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}),
        ["Hello", "World"],
        output=_SELECTED,
        events=(
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            *_FINISH,
        ),
        known_difference="a Distributed Map runs inline: no map run, its iterations' events instead",
    ),
    Case(
        SCENARIOS + "test_map_state_catch",
        _failing_map(Catch=[{"ErrorEquals": ["HandleItemFailError"], "Next": "FinalCaught"}]),
        {},
        output=_ITEM_ERROR,
        events=(
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapStateEntered",
            "MapStateStarted",
            *_FAILED_ITERATION,
            "MapStateFailed",
            "MapStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ),
    ),
    Case(
        SCENARIOS + "test_map_state_retry",
        _failing_map(Retry=[{"ErrorEquals": ["HandleItemFailError"], "MaxAttempts": 2}]),
        {},
        status="FAILED",
        error="HandleItemFailError",
        cause="HandleItemFailCause",
        # A retried Map starts again without a new MapStateEntered event.
        events=(
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapStateEntered",
            "MapStateStarted",
            *_FAILED_ITERATION,
            "MapStateStarted",
            *_FAILED_ITERATION,
            "MapStateStarted",
            *_FAILED_ITERATION,
            "MapStateFailed",
            "ExecutionFailed",
        ),
    ),
    Case(
        SCENARIOS + "test_map_state_item_selector",
        {
            "StartAt": "StartState",
            "States": {
                "StartState": {"Type": "Pass", "Result": {"detail": _DETAIL}, "Next": "MapState"},
                "MapState": {
                    "Type": "Map",
                    "ResultPath": "$.detail.shipped_output",
                    "InputPath": "$.detail",
                    "ItemsPath": "$.shipped",
                    "MaxConcurrency": 1,
                    "ItemSelector": {
                        "original_input.$": "$",
                        "iteration_input_value.$": "$$.Map.Item.Value",
                        "iteration_index.$": "$$.Map.Item.Index",
                        "from_input_constant.$": "$.delivery-partner",
                        "constant_value": "HelloWorld",
                    },
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "HandleItem",
                        "States": {"HandleItem": {"Type": "Pass", "End": True}},
                    },
                    "Next": "Final",
                },
                "Final": {"Type": "Pass", "End": True},
            },
        },
        {},
        # The recorded key order: the fixed key first, then the `name.$` keys by Java hash.
        output={
            "detail": {
                **_DETAIL,
                "shipped_output": [
                    {
                        "constant_value": "HelloWorld",
                        "iteration_input_value": item,
                        "from_input_constant": "UQS",
                        "iteration_index": index,
                        "original_input": _DETAIL,
                    }
                    for index, item in enumerate(_SHIPPED)
                ],
            }
        },
        events=(
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapStateEntered",
            "MapStateStarted",
            *_ITERATION * 5,
            "MapStateSucceeded",
            "MapStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ),
    ),
]
