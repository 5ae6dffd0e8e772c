"""Variables and the context object, recorded on AWS (LocalStack's ``assign`` and ``base``)."""

from __future__ import annotations

from typing import Any

from tests.workflow.recorded.case import ACCOUNT, LS, REGION, Case

REFERENCE = LS + "assign/test_assign_reference_variables.py::TestAssignReferenceVariables::"
BASE = LS + "base/test_base.py::TestSnfBase::"

_INTRINSIC_OPS: dict[str, Any] = {
    "encodingOps": {
        "encoded.$": "States.Base64Encode($rawString)",
        "decoded.$": "States.Base64Decode($encodedString)",
    },
    "hashOps": {"hashValue.$": "States.Hash($inputString, 'SHA-256')"},
    "jsonOps": {
        "mergedJson.$": "States.JsonMerge($json1, $json2, false)",
        "parsedJson.$": "States.StringToJson($jsonString)",
        "stringifiedJson.$": "States.JsonToString($jsonObject)",
    },
    "mathOps": {"sum.$": "States.MathAdd($value1, $value2)"},
    "stringOps": {
        "splitString.$": "States.StringSplit($csvString, ',')",
        "formattedString.$": "States.Format('Hello {}, welcome to {}!', $name, $place)",
    },
    "uuidOp": {"uniqueId.$": "States.UUID()"},
}

# The keys as AWS gave them: fixed keys as written, `name.$` keys in Java HashMap order.
_INTRINSIC_RESULTS: dict[str, Any] = {
    "encodingOps": {"decoded": "Hello World", "encoded": "SGVsbG8gV29ybGQ="},
    "hashOps": {"hashValue": "1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"},
    "jsonOps": {
        "parsedJson": {"key": "value"},
        "mergedJson": {"a": 1, "b": 2, "c": 3, "d": 4},
        "stringifiedJson": '{"test":"object"}',
    },
    "mathOps": {"sum": 8},
    "stringOps": {
        "formattedString": "Hello John, welcome to LocalStack!",
        "splitString": ["a", "b", "c", "d", "e"],
    },
    "uuidOp": {"uniqueId": "<uuid>"},
}

_VALUES: dict[str, Any] = {
    "inputArray": [1, 2, 3, 4, 5, 6],
    "duplicateArray": [1, 2, 2, 3, 3, 4],
    "rawString": "Hello World",
    "encodedString": "SGVsbG8gV29ybGQ=",
    "inputString": "Hash this string",
    "json1": {"a": 1, "b": 2},
    "json2": {"c": 3, "d": 4},
    "jsonString": '{"key":"value"}',
    "jsonObject": {"test": "object"},
    "value1": 5,
    "value2": 3,
    "csvString": "a,b,c,d,e",
    "name": "John",
    "place": "LocalStack",
    "additionalInfo": {"age": 30, "role": "developer"},
}


def _on_input(ops: dict[str, Any]) -> dict[str, Any]:
    """The operations reading the state input (``$.x``) instead of variables (``$x``)."""
    return {
        group: {
            key: path.replace("($", "($.").replace(", $", ", $.") for key, path in fields.items()
        }
        for group, fields in ops.items()
    }


_MACHINE = "statemachine_1a2b3c"
_EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{_MACHINE}:execution"
_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{_MACHINE}"
# The recording masks the execution role; this is the one run_definition gives.
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/bakusoku-local"
_EXECUTION = {
    "Id": _EXECUTION_ARN,
    "Input": {"message": "TestMessage"},
    "StartTime": "<time>",
    "Name": "execution",
    "RoleArn": ROLE_ARN,
    "RedriveCount": 0,
}
_STATE_MACHINE = {"Id": _MACHINE_ARN, "Name": _MACHINE}


def _state(name: str) -> dict[str, Any]:
    return {"Name": name, "EnteredTime": "<time>"}


def _context(state: str) -> dict[str, Any]:
    return {"Execution": _EXECUTION, "StateMachine": _STATE_MACHINE, "State": _state(state)}


_LEVELS = [[9, 44, 6], [82, 25, 76], [18, 42, 2]]


def _outer_scope_events() -> tuple[str, ...]:
    """The recorded history of the nested Maps (MaxConcurrency 1, so in order)."""
    inner = ("MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded")
    level = (
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapStateEntered",
        "MapStateStarted",
        *inner * 3,
        "MapStateSucceeded",
        "MapStateExited",
        "MapIterationSucceeded",
    )
    return (
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapStateEntered",
        "MapStateStarted",
        *level * 3,
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    )


def _outer_scope_assigned() -> tuple[tuple[str, dict[str, Any]], ...]:
    assigned: list[tuple[str, dict[str, Any]]] = [("Input", {"bias": 4.3})]
    # States.MathAdd rounds each argument (4.3 counts as 4), as recorded.
    for x, y, z in _LEVELS:
        assigned.append(("AssignCurrentVector", {"xCurrent": x, "yCurrent": y, "zCurrent": z}))
        assigned += [("Summate", {"Sum": x + y + z + 4})] * 3
    return tuple(assigned)


CASES = [
    Case(
        REFERENCE + "test_reference_assign[BASE_REFERENCE_IN_INTRINSIC_FUNCTION]",
        {
            "StartAt": "State0",
            "States": {
                "State0": {
                    "Type": "Pass",
                    "Assign": {**_VALUES, "inputArray": list(range(1, 10))},
                    "Next": "State1",
                },
                "State1": {"Type": "Pass", "Parameters": _INTRINSIC_OPS, "End": True},
            },
        },
        {},
        output=_INTRINSIC_RESULTS,
    ),
    Case(
        REFERENCE + "test_assign_from_value[BASE_ASSIGN_FROM_INTRINSIC_FUNCTION]",
        {
            "StartAt": "State0",
            "States": {
                "State0": {
                    "Type": "Pass",
                    "Result": _VALUES,
                    "Assign": {
                        "arrayOps": {
                            "simpleArray.$": "States.Array('a', 'b', 'c')",
                            "partitionedArray.$": "States.ArrayPartition($.inputArray, 2)",
                            "containsElement.$": "States.ArrayContains($.inputArray, 5)",
                            "numberRange.$": "States.ArrayRange(1, 10, 2)",
                            "thirdElement.$": "States.ArrayGetItem($.inputArray, 2)",
                            "arraySize.$": "States.ArrayLength($.inputArray)",
                            "uniqueValues.$": "States.ArrayUnique($.duplicateArray)",
                        },
                        **_on_input(_INTRINSIC_OPS),
                    },
                    "Next": "Show",
                },
                # The recording shows the variables in the state's exited event; this state
                # puts them in the output, where the replay compares them.
                "Show": {"Type": "Pass", "Parameters": {"arrayOps.$": "$arrayOps"}, "End": True},
            },
        },
        {},
        output={
            "arrayOps": {
                "uniqueValues": [1, 2, 3, 4],
                "simpleArray": ["a", "b", "c"],
                "thirdElement": 3,
                "partitionedArray": [[1, 2], [3, 4], [5, 6]],
                "arraySize": 6,
                "containsElement": True,
                "numberRange": [1, 3, 5, 7, 9],
            }
        },
    ),
    Case(
        REFERENCE + "test_reference_assign[BASE_REFERENCE_IN_ITERATOR_OUTER_SCOPE]",
        {
            "StartAt": "Input",
            "States": {
                "Input": {
                    "Type": "Pass",
                    "Result": _LEVELS,
                    "Assign": {"bias": 4.3},
                    "Next": "IterateLevels",
                },
                "IterateLevels": {
                    "Type": "Map",
                    "MaxConcurrency": 1,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "AssignCurrentVector",
                        "States": {
                            "AssignCurrentVector": {
                                "Type": "Pass",
                                "Assign": {
                                    "xCurrent.$": "$[0]",
                                    "yCurrent.$": "$[1]",
                                    "zCurrent.$": "$[2]",
                                },
                                "Next": "Calculate",
                            },
                            "Calculate": {
                                "Type": "Map",
                                "MaxConcurrency": 1,
                                "ItemProcessor": {
                                    "ProcessorConfig": {"Mode": "INLINE"},
                                    "StartAt": "Summate",
                                    "States": {
                                        "Summate": {
                                            "Type": "Pass",
                                            "Assign": {
                                                "Sum.$": "States.MathAdd(States.MathAdd("
                                                "States.MathAdd($yCurrent, $xCurrent), $zCurrent), $bias)"
                                            },
                                            "End": True,
                                        }
                                    },
                                },
                                "End": True,
                            },
                        },
                    },
                    "End": True,
                },
            },
        },
        {},
        output=_LEVELS,
        events=_outer_scope_events(),
        assigned=_outer_scope_assigned(),
    ),
    Case(
        REFERENCE + "test_reference_assign[BASE_REFERENCE_IN_FAIL]",
        {
            "StartAt": "Pass",
            "States": {
                "Pass": {
                    "Type": "Pass",
                    "Assign": {"errorVar": "Exception", "causeVar": "An Exception was encountered"},
                    "Next": "Fail",
                },
                "Fail": {"Type": "Fail", "CausePath": "$causeVar", "ErrorPath": "$errorVar"},
            },
        },
        {},
        status="FAILED",
        error="Exception",
        cause="An Exception was encountered",
    ),
    Case(
        BASE + "test_query_context_object_values",
        {
            "StartAt": "QueryValues1",
            "States": {
                "QueryValues1": {
                    "Type": "Pass",
                    "Next": "QueryValues2",
                    "ResultPath": "$.query_values_1",
                    "Parameters": {
                        "context_object.$": "$$",
                        "execution.$": "$$.Execution",
                        "execution_id.$": "$$.Execution.Id",
                        "execution_input.$": "$$.Execution.Input",
                        "execution_name.$": "$$.Execution.Name",
                        "execution_rolearn.$": "$$.Execution.RoleArn",
                        "execution_starttime.$": "$$.Execution.StartTime",
                        "state.$": "$$.State",
                        "state_enteredtime.$": "$$.State.EnteredTime",
                        "state_name.$": "$$.State.Name",
                        "statemachine.$": "$$.StateMachine",
                        "statemachine_id.$": "$$.StateMachine.Id",
                        "statemachine_name.$": "$$.StateMachine.Name",
                    },
                },
                "QueryValues2": {
                    "Type": "Pass",
                    "End": True,
                    "ResultPath": "$.query_values_2",
                    "Parameters": {"context_object.$": "$$"},
                },
            },
        },
        {"message": "TestMessage"},
        output={
            "message": "TestMessage",
            "query_values_1": {
                "execution": _EXECUTION,
                "execution_rolearn": ROLE_ARN,
                "execution_name": "execution",
                "statemachine_id": _MACHINE_ARN,
                "execution_id": _EXECUTION_ARN,
                "execution_input": {"message": "TestMessage"},
                "execution_starttime": "<time>",
                "state_name": "QueryValues1",
                "state_enteredtime": "<time>",
                "statemachine": _STATE_MACHINE,
                "state": _state("QueryValues1"),
                "context_object": _context("QueryValues1"),
                "statemachine_name": _MACHINE,
            },
            "query_values_2": {"context_object": _context("QueryValues2")},
        },
    ),
]
