"""Choice rules: every operator, the Path forms, type tests, And/Or/Not, and the Choice state."""

from __future__ import annotations

from typing import Any

import pytest

from bakusoku.workflow.choice import evaluate_rule, string_matches
from bakusoku.workflow.errors import StatesError
from bakusoku.workflow.paths import evaluate

from .conftest import run_definition

DATA = {
    "type": "Private",
    "value": 42,
    "price": 9.5,
    "flag": True,
    "when": "2016-03-14T01:59:00Z",
    "later": "2016-03-14T02:00:00.5+00:00",
    "nothing": None,
    "name": "log-2024.txt",
    "limit": 42,
}


def holds(rule: dict[str, Any], data: Any = DATA) -> bool:
    return evaluate_rule(rule, lambda path: evaluate(path, data))


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.type", "StringEquals": "Private"}, True),
        ({"Variable": "$.type", "StringEquals": "Public"}, False),
        ({"Variable": "$.type", "StringLessThan": "Q"}, True),
        ({"Variable": "$.type", "StringGreaterThanEquals": "Private"}, True),
        ({"Variable": "$.value", "StringEquals": "42"}, False),  # a number is not a string
        ({"Variable": "$.value", "NumericEquals": 42}, True),
        ({"Variable": "$.price", "NumericLessThan": 10}, True),
        ({"Variable": "$.price", "NumericGreaterThanEquals": 9.5}, True),
        ({"Variable": "$.type", "NumericEquals": 1}, False),
        ({"Variable": "$.flag", "BooleanEquals": True}, True),
        ({"Variable": "$.value", "BooleanEquals": True}, False),
        ({"Variable": "$.when", "TimestampEquals": "2016-03-14T01:59:00Z"}, True),
        ({"Variable": "$.when", "TimestampLessThan": "2016-03-14T02:00:00Z"}, True),
        ({"Variable": "$.later", "TimestampGreaterThan": "2016-03-14T02:00:00Z"}, True),
        ({"Variable": "$.type", "TimestampEquals": "2016-03-14T01:59:00Z"}, False),
        ({"Variable": "$.value", "NumericEqualsPath": "$.limit"}, True),
        ({"Variable": "$.when", "TimestampLessThanPath": "$.later"}, True),
        ({"Variable": "$.type", "StringEqualsPath": "$.type"}, True),
        ({"Variable": "$.flag", "BooleanEqualsPath": "$.flag"}, True),
        ({"Variable": "$.nothing", "IsNull": True}, True),
        ({"Variable": "$.value", "IsNull": False}, True),
        ({"Variable": "$.missing", "IsPresent": False}, True),
        ({"Variable": "$.value", "IsPresent": True}, True),
        ({"Variable": "$.value", "IsNumeric": True}, True),
        ({"Variable": "$.flag", "IsNumeric": True}, False),
        ({"Variable": "$.type", "IsString": True}, True),
        ({"Variable": "$.flag", "IsBoolean": True}, True),
        ({"Variable": "$.when", "IsTimestamp": True}, True),
        ({"Variable": "$.type", "IsTimestamp": False}, True),
        ({"Variable": "$.name", "StringMatches": "log-*.txt"}, True),
        ({"Variable": "$.name", "StringMatches": "*.csv"}, False),
        ({"Not": {"Variable": "$.type", "StringEquals": "Private"}}, False),
        (
            {
                "And": [
                    {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                    {"Variable": "$.value", "NumericLessThan": 30},
                ]
            },
            False,
        ),
        (
            {
                "Or": [
                    {"Variable": "$.value", "NumericLessThan": 20},
                    {"Variable": "$.value", "NumericGreaterThanEquals": 30},
                ]
            },
            True,
        ),
    ],
)
def test_operators(rule: dict[str, Any], expected: bool) -> None:
    assert holds(rule) is expected


def test_string_matches_escapes() -> None:
    assert string_matches("a*b", "a\\*b")
    assert not string_matches("axb", "a\\*b")
    assert string_matches("a\\b", "a\\\\b")
    assert string_matches("anything", "*")


def test_missing_variable_is_a_runtime_error() -> None:
    with pytest.raises(StatesError) as failure:
        holds({"Variable": "$.missing", "StringEquals": "x"})
    assert failure.value.error == "States.Runtime"


# The developer guide's Choice state example.
CHOICE = {
    "StartAt": "ChoiceStateX",
    "States": {
        "ChoiceStateX": {
            "Type": "Choice",
            "Choices": [
                {
                    "Not": {"Variable": "$.type", "StringEquals": "Private"},
                    "Next": "Public",
                },
                {
                    "And": [
                        {"Variable": "$.value", "IsPresent": True},
                        {"Variable": "$.value", "IsNumeric": True},
                        {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                        {"Variable": "$.value", "NumericLessThan": 30},
                    ],
                    "Next": "ValueInTwenties",
                },
            ],
            "Default": "DefaultState",
        },
        "Public": {"Type": "Pass", "Result": "public", "End": True},
        "ValueInTwenties": {"Type": "Pass", "Result": "twenties", "End": True},
        "DefaultState": {"Type": "Fail", "Error": "DefaultStateError", "Cause": "No Matches!"},
    },
}


@pytest.mark.parametrize(
    ("state_input", "expected"),
    [({"type": "Public"}, "public"), ({"type": "Private", "value": 25}, "twenties")],
)
def test_choice_state_example(state_input: dict[str, Any], expected: str) -> None:
    assert run_definition(CHOICE, state_input) == expected


def test_choice_state_default_and_no_match() -> None:
    with pytest.raises(StatesError) as failure:
        run_definition(CHOICE, {"type": "Private", "value": 35})
    assert failure.value.error == "DefaultStateError"
    no_default = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "E"}],
            },
            "E": {"Type": "Succeed"},
        },
    }
    with pytest.raises(StatesError) as failure:
        run_definition(no_default, {})
    assert failure.value.error == "States.NoChoiceMatched"


def test_string_order_is_javas_utf16_order() -> None:
    # U+FF61 sorts after U+1F600 by code point, but before it by UTF-16 code unit (0xD83D).
    assert holds({"Variable": "$.a", "StringLessThan": "\U0001f600"}, {"a": "\uff61"}) is False
    assert holds({"Variable": "$.a", "StringGreaterThan": "\U0001f600"}, {"a": "\uff61"}) is True
