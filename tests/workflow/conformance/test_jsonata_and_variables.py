"""Developer guide, "Transforming data with JSONata" and "Passing data between states with
variables": QueryLanguage, Arguments, Output, $states, Assign."""

from __future__ import annotations

from tests.workflow.conformance.helpers import ARN, fails, succeeds


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
