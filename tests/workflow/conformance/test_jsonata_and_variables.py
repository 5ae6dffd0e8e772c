"""Developer guide, "Transforming data with JSONata" and "Passing data between states with
variables": QueryLanguage, Arguments, Output, $states, Assign."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow.conformance.helpers import ARN, fails, failure, single, state_error, succeeds


def test_jsonata_arguments_output_and_states_variables() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Sum",
        "States": {
            "Sum": {
                "Type": "Task",
                "Resource": ARN.format("add"),
                "Arguments": {"values": "{% $states.input.numbers %}"},
                "Output": {
                    "total": "{% $states.result.sum %}",
                    "state": "{% $states.context.State.Name %}",
                },
                "End": True,
            }
        },
    }
    output = succeeds(
        definition, {"numbers": [1, 2, 3]}, {"add": lambda e: {"sum": sum(e["values"])}}
    )
    assert output == {"total": 6, "state": "Sum"}


def test_assign_and_read_variables_in_later_states() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Remember",
        "States": {
            "Remember": {
                "Type": "Pass",
                "Assign": {"productName": "{% $states.input.product %}", "count": 2},
                "Next": "Use",
            },
            "Use": {
                "Type": "Pass",
                "Output": "{% $productName & ' x' & $string($count) %}",
                "End": True,
            },
        },
    }
    assert succeeds(definition, {"product": "lamp"}) == "lamp x2"


def test_jsonpath_assign_with_dollar_paths() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"who.$": "$.name"}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "Parameters": {"greeting.$": "States.Format('hi {}', $who)"},
                "End": True,
            },
        },
    }
    assert succeeds(definition, {"name": "Ana"}) == {"greeting": "hi Ana"}


def test_jsonata_per_state_in_a_jsonpath_machine_and_choice_condition() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "QueryLanguage": "JSONata",
                "Choices": [{"Condition": "{% $states.input.n > 10 %}", "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Pass", "Result": "big", "End": True},
            "Small": {"Type": "Pass", "Result": "small", "End": True},
        },
    }
    assert succeeds(definition, {"n": 11}) == "big"
    assert succeeds(definition, {"n": 1}) == "small"


def test_a_jsonata_error_is_a_query_evaluation_error() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Output": "{% $number('x') + $undefinedFn() %}", "End": True}
        },
    }
    assert fails(definition, {}).error == "States.QueryEvaluationError"


def _jsonata(state: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", **single(state)}


def test_reading_a_variable_never_assigned_fails_the_state() -> None:
    # "Passing data between states with variables": a variable exists once a state assigns it.
    result = fails(_jsonata({"Type": "Pass", "Output": {"a": "{% $never %}"}}), {})
    assert (result.error, result.cause) == (
        "States.QueryEvaluationError",
        state_error(
            "S",
            2,
            "The JSONata expression '$never' specified for the field 'Output/a' returned nothing "
            "(undefined).",
        ),
    )


def test_a_nested_field_is_named_by_its_path_in_the_state() -> None:
    # An execution recorded on AWS names a nested Arguments field "Arguments/Input/pushLocation"
    # ("specified for the field 'Arguments/Input/pushLocation' returned nothing (undefined)"):
    # "/" before each key, and a Choice rule's or a catcher's own fields under it.
    choice = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% false %}", "Next": "X"},
                    {"Condition": "{% $states.input.nope %}", "Next": "X"},
                ],
                "Default": "X",
            },
            "X": {"Type": "Succeed"},
        },
    }
    assert failure(fails(choice, {})) == (
        "States.QueryEvaluationError",
        state_error(
            "C",
            2,
            "The JSONata expression '$states.input.nope' specified for the field "
            "'Choices[1]/Condition' returned nothing (undefined).",
        ),
    )
    choice["States"]["C"]["Choices"][0] = {
        "Condition": "{% true %}",
        "Output": {"v": "{% $states.input.nope %}"},
        "Next": "X",
    }
    assert failure(fails(choice, {}))[1] == state_error(
        "C",
        2,
        "The JSONata expression '$states.input.nope' specified for the field "
        "'Choices[0]/Output/v' returned nothing (undefined).",
    )


def test_jsonata_null_is_a_value_and_a_missing_field_is_nothing() -> None:
    # "Transforming data with JSONata": null is JSON's null; a field that is not there is
    # undefined, and a field's expression must give a value.
    assert succeeds(
        _jsonata({"Type": "Pass", "Output": {"n": "{% $states.input.n %}", "z": "{% null %}"}}),
        {"n": None},
    ) == {"n": None, "z": None}
    assert fails(_jsonata({"Type": "Pass", "Output": "{% $states.input.m %}"}), {}).error == (
        "States.QueryEvaluationError"
    )


def _map_of(items: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
    }
    if items is not None:
        state["Items"] = items
    return _jsonata(state)


def _types_of(result: Any) -> list[str]:
    return [event.type for event in result.history]


@pytest.mark.parametrize(
    ("value", "type_name", "printed"),
    [
        (1, "number", "1"),
        ("string", "string", '"string"'),
        (True, "boolean", "true"),
        ({"foo": "bar"}, "object", '{"foo":"bar"}'),
        (None, "null", "null"),
    ],
)
def test_jsonata_items_of_the_wrong_type(value: Any, type_name: str, printed: str) -> None:
    # As recorded on AWS in a public snapshot (a JSONata Map whose Items, "{% $ItemsVar %}",
    # gives a number, string, boolean, object or null): States.QueryEvaluationError naming the
    # expression and the type, an EvaluationFailed event, then MapStateFailed.
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Assign": {"ItemsVar": value}, "Next": "MapIterateState"},
            "MapIterateState": {**_map_of("{% $ItemsVar %}")["States"]["S"], "End": True},
        },
    }
    result = fails(definition, {})
    cause = state_error(
        "MapIterateState",
        4,
        "The JSONata expression '$ItemsVar' specified for the field 'Items' returned an "
        f"unexpected result type. Expected 'array', but was '{type_name}' for value: {printed}",
    )
    assert (result.error, result.cause) == ("States.QueryEvaluationError", cause)
    assert _types_of(result) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapStateEntered",
        "EvaluationFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    evaluation = result.events("EvaluationFailed")[0]
    assert (evaluation.id, evaluation.previous_event_id, evaluation.details) == (
        5,
        3,
        {
            "cause": cause,
            "error": "States.QueryEvaluationError",
            "location": "Items",
            "state": "MapIterateState",
        },
    )
    assert [(e.id, e.previous_event_id) for e in result.events("ExecutionFailed")] == [(7, 6)]


@pytest.mark.parametrize(
    ("value", "printed"), [(1, "1"), ("string", '"string"'), (True, "true"), (None, "null")]
)
def test_a_jsonata_map_input_that_is_no_array(value: Any, printed: str) -> None:
    # As recorded on AWS in a public snapshot (a JSONata Map without Items entered with a
    # number, string, boolean or null): the input itself is blamed, with no location.
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Output": "{% $states.input.items %}", "Next": "Map"},
            "Map": {**_map_of(None)["States"]["S"], "End": True},
        },
    }
    result = fails(definition, {"items": value})
    cause = state_error("Map", 4, f"Map state input must be an array but was: {printed}")
    assert (result.error, result.cause) == ("States.QueryEvaluationError", cause)
    assert result.events("EvaluationFailed")[0].details == {
        "cause": cause,
        "error": "States.QueryEvaluationError",
        "state": "Map",
    }
    assert _types_of(result)[-3:] == ["EvaluationFailed", "MapStateFailed", "ExecutionFailed"]


@pytest.mark.parametrize(
    ("expression", "type_name", "printed"),
    [
        ("1", "number", "1"),
        ("'string'", "string", '"string"'),
        ("true", "boolean", "true"),
        ("{'foo': 'bar'}", "object", '{"foo":"bar"}'),
        ("null", "null", "null"),
    ],
)
def test_jsonata_items_written_as_a_value_of_the_wrong_type(
    expression: str, type_name: str, printed: str
) -> None:
    # As recorded on AWS in a public snapshot (the first state a Map whose Items is a JSONata
    # literal): the expression is quoted as written; the EvaluationFailed event follows no event.
    result = fails(_map_of(f"{{% {expression} %}}"), {})
    cause = state_error(
        "S",
        2,
        f"The JSONata expression '{expression}' specified for the field 'Items' returned an "
        f"unexpected result type. Expected 'array', but was '{type_name}' for value: {printed}",
    )
    assert (result.error, result.cause) == ("States.QueryEvaluationError", cause)
    assert [(e.id, e.previous_event_id, e.type) for e in result.history] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 0, "EvaluationFailed"),
        (4, 3, "MapStateFailed"),
        (5, 4, "ExecutionFailed"),
    ]


def test_jsonata_items_that_give_a_function() -> None:
    # As recorded on AWS in a public snapshot (Items "{% $fn := function($x){$x} %}").
    result = fails(_map_of("{% $fn := function($x){$x} %}"), {})
    assert (result.error, result.cause) == (
        "States.QueryEvaluationError",
        state_error(
            "S",
            2,
            "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' "
            "returned an unsupported result type.",
        ),
    )


@pytest.mark.parametrize(
    "value",
    [
        "2016-12-05 21:29:29Z",
        "2016-12-05T21:29:29",
        "2016-13-05T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "05-12-2016T21:29:29Z",
    ],
)
def test_a_jsonata_timestamp_that_is_not_one(value: str) -> None:
    # As recorded on AWS in a public snapshot (a JSONata Wait whose Timestamp reads the input):
    # the value is printed as it is, after an EvaluationFailed event located at Timestamp.
    wait = {
        "QueryLanguage": "JSONata",
        "StartAt": "WaitState",
        "States": {
            "WaitState": {
                "Type": "Wait",
                "Timestamp": "{% $states.input.TimestampValue %}",
                "End": True,
            }
        },
    }
    result = fails(wait, {"TimestampValue": value})
    cause = state_error(
        "WaitState",
        2,
        "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
        f"string: {value}",
    )
    assert (result.error, result.cause) == ("States.QueryEvaluationError", cause)
    assert [(e.id, e.type) for e in result.history] == [
        (1, "ExecutionStarted"),
        (2, "WaitStateEntered"),
        (3, "EvaluationFailed"),
        (4, "ExecutionFailed"),
    ]
    assert result.events("EvaluationFailed")[0].details == {
        "cause": cause,
        "error": "States.QueryEvaluationError",
        "location": "Timestamp",
        "state": "WaitState",
    }


@pytest.mark.parametrize(
    "value", ["2016-12-05T21:29:29Z", "2016-12-05T21:29:29.123456789Z", "2016-12-05T21:29:29.5Z"]
)
def test_jsonata_timestamps_with_seconds_or_nanoseconds(value: str) -> None:
    # As recorded on AWS in a public snapshot: a time in the past, with seconds or nanoseconds,
    # ends the wait at once.
    wait = _jsonata({"Type": "Wait", "Timestamp": "{% $states.input.t %}"})
    assert succeeds(wait, {"t": value}) == {"t": value}
