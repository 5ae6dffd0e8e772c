"""Developer guide, "Transforming data with JSONata" and "Passing data between states with
variables": QueryLanguage, Arguments, Output, $states, Assign."""

from __future__ import annotations

from typing import Any

from tests.workflow.conformance.helpers import ARN, fails, single, state_error, succeeds


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


def test_jsonata_of_the_wrong_type_is_a_query_evaluation_error() -> None:
    # Items must give an array and a Wait's Timestamp a timestamp: what an expression gives is
    # checked as the state runs (States.QueryEvaluationError), not as JSONPath's States.Runtime.
    items = _jsonata(
        {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        }
    )
    result = fails(items, {"items": 1})
    assert (result.error, result.cause) == (
        "States.QueryEvaluationError",
        state_error("S", 2, "Map state input must be an array but was: 1"),
    )
    wait = _jsonata({"Type": "Wait", "Timestamp": "{% $states.input.when %}"})
    assert fails(wait, {"when": "soon"}).error == "States.QueryEvaluationError"
