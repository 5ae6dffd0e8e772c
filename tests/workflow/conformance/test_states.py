"""Developer guide, "Discovering workflow states": Pass, Choice, Wait, Succeed, Fail, Parallel and
Map (inline), with the guide's examples."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.workflow.conformance.helpers import (
    ARN,
    fails,
    failure,
    run,
    single,
    state_error,
    succeeds,
)

# ---- Pass ----------------------------------------------------------------------------------------


def test_pass_result_with_resultpath() -> None:
    definition = single(
        {
            "Type": "Pass",
            "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355},
            "ResultPath": "$.coords",
        }
    )
    assert succeeds(definition, {"georefOf": "Home"}) == {
        "georefOf": "Home",
        "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355},
    }


# ---- Choice --------------------------------------------------------------------------------------

CHOICE = {
    "StartAt": "ChoiceStateX",
    "States": {
        "ChoiceStateX": {
            "Type": "Choice",
            "Choices": [
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                {
                    "And": [
                        {"Variable": "$.value", "IsPresent": True},
                        {"Variable": "$.value", "IsNumeric": True},
                        {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                        {"Variable": "$.value", "NumericLessThan": 30},
                    ],
                    "Next": "ValueInTwenties",
                },
                {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
            ],
            "Default": "DefaultState",
        },
        "Public": {"Type": "Pass", "Result": "Public", "End": True},
        "ValueIsZero": {"Type": "Pass", "Result": "ValueIsZero", "End": True},
        "ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": True},
        "DefaultState": {"Type": "Fail", "Error": "DefaultStateError", "Cause": "No Matches!"},
    },
}


@pytest.mark.parametrize(
    ("state_input", "expected"),
    [
        ({"type": "Public"}, "Public"),
        ({"type": "Private", "value": 25}, "ValueInTwenties"),
        ({"type": "Private", "value": 0}, "ValueIsZero"),
    ],
)
def test_choice_guide_example(state_input: dict[str, Any], expected: str) -> None:
    assert succeeds(CHOICE, state_input) == expected


def test_choice_default_and_no_match() -> None:
    result = fails(CHOICE, {"type": "Private", "value": 35})
    assert (result.error, result.cause) == ("DefaultStateError", "No Matches!")
    no_default = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "D"}],
            },
            "D": {"Type": "Succeed"},
        },
    }
    assert fails(no_default, {"x": False}).error == "States.NoChoiceMatched"


@pytest.mark.parametrize(
    ("rule", "state_input", "holds"),
    [
        ({"Variable": "$.s", "StringMatches": "log-*.txt"}, {"s": "log-2024.txt"}, True),
        ({"Variable": "$.s", "StringMatches": "log-\\*.txt"}, {"s": "log-2024.txt"}, False),
        (
            {"Variable": "$.t", "TimestampLessThan": "2026-01-01T00:00:00Z"},
            {"t": "2025-12-31T23:59:59Z"},
            True,
        ),
        ({"Variable": "$.a", "NumericGreaterThanPath": "$.b"}, {"a": 2, "b": 1}, True),
        ({"Variable": "$.a", "StringLessThanEquals": "b"}, {"a": "b"}, True),
        ({"Variable": "$.t", "IsTimestamp": True}, {"t": "2016-08-18T17:33:00Z"}, True),
        ({"Variable": "$.n", "IsNull": True}, {"n": None}, True),
        ({"Variable": "$.missing", "IsPresent": False}, {}, True),
        ({"Variable": "$.b", "IsBoolean": True}, {"b": "true"}, False),
        ({"Variable": "$.s", "IsString": True}, {"s": "x"}, True),
        (
            {
                "Or": [
                    {"Variable": "$.a", "NumericEquals": 1},
                    {"Variable": "$.a", "NumericEquals": 2},
                ]
            },
            {"a": 2},
            True,
        ),
    ],
)
def test_choice_operators(rule: dict[str, Any], state_input: Any, holds: bool) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": True, "End": True},
            "No": {"Type": "Pass", "Result": False, "End": True},
        },
    }
    assert succeeds(definition, state_input) is holds


# ---- Wait ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "state_input", "seconds"),
    [
        ({"Seconds": 10}, {}, 10),
        ({"SecondsPath": "$.wait"}, {"wait": 3600}, 3600),
    ],
)
def test_wait_for_seconds(fields: dict[str, Any], state_input: Any, seconds: int) -> None:
    result = run(single({"Type": "Wait", **fields}), state_input)
    assert result.status == "SUCCEEDED" and result.output == state_input
    entered, exited = result.events("WaitStateEntered", "WaitStateExited")
    waited = exited.timestamp - entered.timestamp
    assert timedelta(seconds=seconds) <= waited < timedelta(seconds=seconds + 1)


def test_wait_until_a_timestamp() -> None:
    result = run(
        single({"Type": "Wait", "TimestampPath": "$.expirydate"}),
        {"expirydate": "2099-02-14T01:59:00Z"},
    )
    assert result.status == "SUCCEEDED"
    exited = result.events("WaitStateExited")[0]
    assert exited.timestamp.isoformat().startswith("2099-02-14T01:59:00")


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow",
        "2016-12-05 21:29:29Z",
        "2016-12-05T21:29:29",
        "2016-13-05T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "05-12-2016T21:29:29Z",
    ],
)
def test_a_bad_timestamp_path_fails_the_execution(value: str) -> None:
    # "Wait workflow state": TimestampPath must give an ISO-8601 extended offset date-time. The
    # value after "==" is printed as it is, as recorded on AWS in a public snapshot (a Wait
    # "WaitUntil" with TimestampPath "$.TimestampValue": without T, without Z, month 13, hour 25,
    # day first).
    wait = {
        "StartAt": "WaitUntil",
        "States": {"WaitUntil": {"Type": "Wait", "TimestampPath": "$.TimestampValue", "End": True}},
    }
    result = fails(wait, {"TimestampValue": value})
    assert (result.error, result.cause) == (
        "States.Runtime",
        state_error(
            "WaitUntil",
            2,
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: $.TimestampValue == {value}",
        ),
    )
    assert [(e.id, e.previous_event_id, e.type) for e in result.history] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "WaitStateEntered"),
        (3, 2, "ExecutionFailed"),
    ]


def test_wait_paths_may_read_variables() -> None:
    # "Passing data between states with variables": a variable may stand where a path reads.
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {
                "Type": "Pass",
                "Assign": {"pause": {"seconds": 5}, "until": "2099-02-14T01:59:00Z"},
                "Next": "Pause",
            },
            "Pause": {"Type": "Wait", "SecondsPath": "$pause.seconds", "Next": "Until"},
            "Until": {"Type": "Wait", "TimestampPath": "$until", "End": True},
        },
    }
    result = run(definition, {"k": 1})
    assert result.status == "SUCCEEDED" and result.output == {"k": 1}
    entered, exited = result.events("WaitStateEntered", "WaitStateExited")[:2]
    assert timedelta(seconds=5) <= exited.timestamp - entered.timestamp < timedelta(seconds=6)
    assert result.events("WaitStateExited")[1].timestamp.isoformat().startswith("2099-02-14T01:59")


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (-1, "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1"),
        (
            -1.5,
            "The SecondsPath parameter cannot be parsed as a long value: "
            "$.input.waitSeconds == -1.5",
        ),
        (
            1.5,
            "The SecondsPath parameter cannot be parsed as a long value: "
            "$.input.waitSeconds == 1.5",
        ),
        (
            "soon",
            "The SecondsPath parameter cannot be parsed as a long value: "
            "$.input.waitSeconds == soon",
        ),
    ],
)
def test_a_bad_seconds_path_value_fails_the_execution(value: Any, detail: str) -> None:
    # "Wait workflow state": SecondsPath must give a non-negative integer. Worded as executions
    # recorded on AWS give it (LocalStack's snapshot test_wait::test_base_wait_seconds_path, a
    # Wait "State_1" with SecondsPath "$.input.waitSeconds" given -1, -1.5 and 1.5).
    definition = {
        "StartAt": "State_1",
        "States": {"State_1": {"Type": "Wait", "SecondsPath": "$.input.waitSeconds", "End": True}},
    }
    result = fails(definition, {"input": {"waitSeconds": value}})
    assert failure(result) == ("States.Runtime", state_error("State_1", 2, detail))


def test_a_seconds_path_that_finds_nothing_says_so() -> None:
    result = fails(single({"Type": "Wait", "SecondsPath": "$.missing"}), {})
    assert failure(result) == (
        "States.Runtime",
        state_error(
            "S", 2, "The SecondsPath parameter does not reference an input value: $.missing"
        ),
    )


def test_a_wait_path_reading_an_unassigned_variable_fails() -> None:
    result = fails(single({"Type": "Wait", "SecondsPath": "$nothing"}), {})
    assert result.error == "States.Runtime"
    assert (result.cause or "").startswith(state_error("S", 2, "Invalid path '$nothing' : "))


# ---- Succeed and Fail ----------------------------------------------------------------------------


def test_succeed_passes_its_input() -> None:
    assert succeeds(single({"Type": "Succeed", "OutputPath": "$.a"}), {"a": {"b": 1}}) == {"b": 1}


def test_fail_with_error_and_cause_paths() -> None:
    definition = single(
        {
            "Type": "Fail",
            "ErrorPath": "$.error",
            "CausePath": "States.Format('This is a custom error message for {}, caused by {}.', "
            "$.Error, $.Cause)",
        }
    )
    result = fails(definition, {"error": "ErrorA", "Error": "X", "Cause": "Y"})
    assert result.error == "ErrorA"
    assert result.cause == "This is a custom error message for X, caused by Y."


def test_a_fail_state_without_error_or_cause_fails_with_neither() -> None:
    # Recorded on AWS: the ExecutionFailed event has no details and DescribeExecution no error.
    result = fails(single({"Type": "Fail"}), {})
    assert (result.error, result.cause) == (None, None)
    assert result.history[-1].details == {}


def test_a_fail_state_with_a_cause_only_has_no_error() -> None:
    result = fails(single({"Type": "Fail", "Cause": "Condition is false"}), {})
    assert (result.error, result.cause) == (None, "Condition is false")


def test_an_error_path_that_finds_nothing_is_a_runtime_error() -> None:
    # "Fail workflow state": ErrorPath and CausePath read the input.
    definition = single({"Type": "Fail", "ErrorPath": "$.ErrorX", "CausePath": "$.Cause"})
    result = fails(definition, {"Error": "E", "Cause": "C"})
    assert (result.error, result.cause) == (
        "States.Runtime",
        state_error(
            "S",
            2,
            "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in "
            """the input '{"Error":"E","Cause":"C"}'""",
        ),
    )


# ---- Parallel ------------------------------------------------------------------------------------


def test_parallel_output_is_an_array_of_branch_outputs() -> None:
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "LookupAddress",
                    "States": {
                        "LookupAddress": {
                            "Type": "Task",
                            "Resource": ARN.format("Address"),
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "LookupPhone",
                    "States": {
                        "LookupPhone": {
                            "Type": "Task",
                            "Resource": ARN.format("Phone"),
                            "End": True,
                        }
                    },
                },
            ],
        }
    )
    functions = {
        "Address": lambda e: {"address": f"{e['id']} Main St"},
        "Phone": lambda e: {"phone": "555-0100"},
    }
    assert succeeds(definition, {"id": 12}, functions) == [
        {"address": "12 Main St"},
        {"phone": "555-0100"},
    ]


def test_a_failed_branch_fails_the_parallel_state_with_its_error() -> None:
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Ok", "States": {"Ok": {"Type": "Wait", "Seconds": 5, "End": True}}},
                {
                    "StartAt": "Bad",
                    "States": {"Bad": {"Type": "Fail", "Error": "Boom", "Cause": "bad branch"}},
                },
            ],
        }
    )
    result = fails(definition, {})
    assert (result.error, result.cause) == ("Boom", "bad branch")


# ---- Map -----------------------------------------------------------------------------------------

SHIPPING_INPUT = {
    "ship-date": "2016-03-14T01:59:00Z",
    "detail": {
        "delivery-partner": "UQS",
        "shipped": [
            {"prod": "R31", "dest-code": 9511, "quantity": 1344},
            {"prod": "S39", "dest-code": 9511, "quantity": 40},
        ],
    },
}


def test_map_guide_example_with_itemselector_and_context() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemsPath": "$.detail.shipped",
            "ItemSelector": {
                "parcel.$": "$$.Map.Item.Value",
                "index.$": "$$.Map.Item.Index",
                "courier.$": "$.detail.delivery-partner",
            },
            "MaxConcurrency": 0,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Validate",
                "States": {
                    "Validate": {"Type": "Task", "Resource": ARN.format("ship-val"), "End": True}
                },
            },
            "ResultPath": "$.detail.shipped",
        }
    )
    functions = {
        "ship-val": lambda e: {**e["parcel"], "ok": e["courier"] == "UQS", "i": e["index"]}
    }
    output = succeeds(definition, SHIPPING_INPUT, functions)
    assert output["detail"]["shipped"] == [
        {"prod": "R31", "dest-code": 9511, "quantity": 1344, "ok": True, "i": 0},
        {"prod": "S39", "dest-code": 9511, "quantity": 40, "ok": True, "i": 1},
    ]
    assert output["ship-date"] == "2016-03-14T01:59:00Z"


def test_map_item_batcher() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"factor": 10}},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        }
    )
    assert succeeds(definition, [1, 2, 3]) == [
        {"Items": [1, 2], "BatchInput": {"factor": 10}},
        {"Items": [3], "BatchInput": {"factor": 10}},
    ]


def _flaky_map(**tolerance: Any) -> dict[str, Any]:
    return single(
        {
            "Type": "Map",
            **tolerance,
            "ItemProcessor": {
                "StartAt": "C",
                "States": {
                    "C": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "F"}],
                        "Default": "Ok",
                    },
                    "F": {"Type": "Fail", "Error": "TooBig", "Cause": "over two"},
                    "Ok": {"Type": "Succeed"},
                },
            },
        }
    )


def test_map_tolerated_failures() -> None:
    # Failures within the tolerance: the failed items' outputs are their errors.
    output = succeeds(_flaky_map(ToleratedFailureCount=2), [1, 2, 3, 4])
    assert output[:2] == [1, 2]
    assert output[2] == {"Error": "TooBig", "Cause": "over two"}
    result = fails(_flaky_map(ToleratedFailurePercentage=25), [1, 2, 3, 4])
    assert result.error == "States.ExceedToleratedFailureThreshold"
    # Without a tolerance, one failed iteration fails the Map with its own error.
    assert fails(_flaky_map(), [1, 2, 3]).error == "TooBig"


# ---- Map: runtime errors of its fields ("Map workflow state", "Inline mode") -----------------------


def _echo_map(**fields: Any) -> dict[str, Any]:
    return single(
        {
            "Type": "Map",
            **fields,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        }
    )


@pytest.mark.parametrize(
    ("fields", "state_input", "detail"),
    [
        (
            {"ItemsPath": "$.items", "MaxConcurrencyPath": "$.MaxConcurrencyValue"},
            {"MaxConcurrencyValue": "NoNumber", "items": [1]},
            'The MaxConcurrencyPath field refers to value "NoNumber" which is not a valid '
            "integer: $.MaxConcurrencyValue",
        ),
        (
            {"ItemsPath": "$.items", "MaxConcurrencyPath": "$.MaxConcurrencyValue"},
            {"MaxConcurrencyValue": 1.5, "items": [1]},
            'The MaxConcurrencyPath field refers to value "1.5" which is not a valid '
            "integer: $.MaxConcurrencyValue",
        ),
        (
            {"ItemsPath": "$.items", "MaxConcurrencyPath": "$.MaxConcurrencyValue"},
            {"MaxConcurrencyValue": -1, "items": [1]},
            "Expected non-negative integer for MaxConcurrency, got '-1' instead.",
        ),
        (
            {"ItemsPath": "$.items", "ToleratedFailureCountPath": "$.count"},
            {"count": -1, "items": [1]},
            "ToleratedFailureCount cannot be negative.",
        ),
        (
            {"ItemsPath": "$.items", "ToleratedFailureCountPath": "$.count"},
            {"count": "NoNumber", "items": [1]},
            'The ToleratedFailureCountPath field refers to value "NoNumber" which is not a '
            "valid integer: $.count",
        ),
        (
            {"ItemsPath": "$.items", "ToleratedFailurePercentagePath": "$.percentage"},
            {"percentage": "NoNumber", "items": [1]},
            'The ToleratedFailurePercentagePath field refers to value "NoNumber" which is not '
            "a valid float: $.percentage",
        ),
        (
            {"ItemsPath": "$.items", "ToleratedFailurePercentagePath": "$.percentage"},
            {"percentage": 101, "items": [1]},
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        ({"ItemsPath": "$.items"}, {"items": 1}, "Map state input must be an array but was: 1"),
        (
            {"ItemsPath": "$.items"},
            {},
            "Invalid path '$.items' : No results for path: $['items']",
        ),
    ],
)
def test_map_field_errors(fields: dict[str, Any], state_input: Any, detail: str) -> None:
    # The texts as LocalStack's Map (max_concurrency.py, tolerated_failure.py), kept equal to
    # its snapshots of executions recorded on AWS, words them: a value that is not a number is
    # quoted as it is, a count is read as an integer, a percentage as a float.
    result = fails(_echo_map(**fields), state_input)
    assert (result.error, result.cause) == ("States.Runtime", state_error("S", 2, detail))


def test_a_map_reads_an_integer_given_as_text() -> None:
    # The "not a valid integer" cause says the value is read as one: "2" is 2.
    definition = _echo_map(ItemsPath="$.items", MaxConcurrencyPath="$.limit")
    assert succeeds(definition, {"limit": "2", "items": [1, 2, 3]}) == [1, 2, 3]


def test_map_over_its_tolerated_failures_says_so() -> None:
    result = fails(_flaky_map(ToleratedFailureCount=1), [3, 4])
    assert (result.error, result.cause) == (
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )


# ---- Choice: a Variable that names nothing ("Choice workflow state") -----------------------------


def test_a_choice_variable_that_names_nothing_is_a_runtime_error() -> None:
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.value", "NumericEquals": 0, "Next": "Done"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = fails(definition, {"type": "Private"})
    assert (result.error, result.cause) == (
        "States.Runtime",
        state_error(
            "Check",
            4,
            "Invalid path '$.value': The choice state's condition path references an invalid "
            "value.",
        ),
    )


def test_the_events_of_a_map_state() -> None:
    # As recorded on AWS in a public snapshot (a Pass "Start" giving [0] to a Map
    # "MapIterateState" whose iteration is one Pass): ids and previous ids of every event; the
    # Map's Exited event follows the iteration's last event, as its Succeeded event does.
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "InputPath": "$.items", "Next": "MapIterateState"},
            "MapIterateState": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Pass",
                    "States": {"Pass": {"Type": "Pass", "End": True}},
                },
                "End": True,
            },
        },
    }
    result = run(definition, {"items": [0]})
    assert result.output == [0]
    assert [(e.id, e.previous_event_id, e.type) for e in result.history] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "MapStateEntered"),
        (5, 4, "MapStateStarted"),
        (6, 5, "MapIterationStarted"),
        (7, 6, "PassStateEntered"),
        (8, 7, "PassStateExited"),
        (9, 8, "MapIterationSucceeded"),
        (10, 9, "MapStateSucceeded"),
        (11, 9, "MapStateExited"),
        (12, 11, "ExecutionSucceeded"),
    ]


def test_the_events_of_a_parallel_state() -> None:
    # As recorded on AWS in a public snapshot (a Parallel "TestState" of two one-Pass branches):
    # the Parallel's Exited event follows the branches' last event, as its Succeeded event does.
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}
    definition = single({"Type": "Parallel", "Branches": [branch, branch]})
    result = run(definition, {})
    events = {e.type: (e.id, e.previous_event_id) for e in result.history}
    assert events["ParallelStateSucceeded"] == (8, 7)
    assert events["ParallelStateExited"] == (9, 7)
    assert events["ExecutionSucceeded"] == (10, 9)
