"""Choice rules: every operator, the Path forms, type tests and And/Or/Not, evaluated on their own.

The developer guide's Choice state example, its Default and States.NoChoiceMatched are in
tests/workflow/conformance/test_states.py."""

from __future__ import annotations

from typing import Any

import pytest

from bakusoku.workflow.choice import evaluate_rule, string_matches
from bakusoku.workflow.errors import StatesError
from bakusoku.workflow.paths import evaluate

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


def test_string_order_is_javas_utf16_order() -> None:
    # U+FF61 sorts after U+1F600 by code point, but before it by UTF-16 code unit (0xD83D).
    assert holds({"Variable": "$.a", "StringLessThan": "\U0001f600"}, {"a": "\uff61"}) is False
    assert holds({"Variable": "$.a", "StringGreaterThan": "\U0001f600"}, {"a": "\uff61"}) is True
