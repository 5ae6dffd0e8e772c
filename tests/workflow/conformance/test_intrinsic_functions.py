"""Developer guide, "Intrinsic functions for JSONPath states": each function's documented example."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.workflow.conformance.helpers import fails, failure, single, state_error, succeeds


def _value(expression: str, state_input: Any = None) -> Any:
    definition = single({"Type": "Pass", "Parameters": {"v.$": expression}})
    return succeeds(definition, state_input if state_input is not None else {})["v"]


@pytest.mark.parametrize(
    ("expression", "state_input", "expected"),
    [
        (
            "States.Format('Hello, my name is {}.', $.name)",
            {"name": "Arnav"},
            "Hello, my name is Arnav.",
        ),
        (
            "States.StringToJson($.escapedJsonString)",
            {"escapedJsonString": '{"foo": "bar"}'},
            {"foo": "bar"},
        ),
        (
            "States.JsonToString($.unescapedJson)",
            {"unescapedJson": {"foo": "bar"}},
            '{"foo":"bar"}',
        ),
        (
            "States.Array('Foo', 2020, $.someJson, null)",
            {"someJson": {"random": "abcdefg"}},
            ["Foo", 2020, {"random": "abcdefg"}, None],
        ),
        (
            "States.ArrayPartition($.inputArray, 4)",
            {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
            [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
        ),
        (
            "States.ArrayContains($.inputArray, $.lookingFor)",
            {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5},
            True,
        ),
        ("States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9]),
        (
            "States.ArrayGetItem($.inputArray, $.index)",
            {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5},
            6,
        ),
        ("States.ArrayLength($.inputArray)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, 9),
        (
            "States.ArrayUnique($.inputArray)",
            {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]},
            [1, 2, 3, 4],
        ),
        ("States.Base64Encode($.input)", {"input": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
        (
            "States.Hash($.Data, $.Algorithm)",
            {"Data": "input data", "Algorithm": "SHA-1"},
            "aaff4a450a104cd177d28d18d74485e8cae074b7",
        ),
        (
            "States.JsonMerge($.json1, $.json2, false)",
            {
                "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
                "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
            },
            {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
        ),
        ("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110),
        (
            "States.StringSplit($.inputString, $.splitter)",
            {"inputString": "1,2,3,4,5", "splitter": ","},
            ["1", "2", "3", "4", "5"],
        ),
        (
            "States.StringSplit($.inputString, $.splitter)",
            {"inputString": "This.is+a,test=string", "splitter": ".+,="},
            ["This", "is", "a", "test", "string"],
        ),
    ],
)
def test_documented_examples(expression: str, state_input: Any, expected: Any) -> None:
    assert _value(expression, state_input) == expected


def test_math_random_is_in_range_and_uuid_is_a_v4_uuid() -> None:
    value = _value("States.MathRandom($.start, $.end)", {"start": 1, "end": 999})
    assert 1 <= value < 999
    assert uuid.UUID(_value("States.UUID()")).version == 4


def test_format_escapes() -> None:
    assert _value("States.Format('{} \\{\\} \\'q\\'', $.a)", {"a": 1}) == "1 {} 'q'"


def test_a_bad_argument_is_an_intrinsic_failure() -> None:
    definition = single({"Type": "Pass", "Parameters": {"v.$": "States.ArrayRange(1, 2, 0)"}})
    result = fails(definition, {})
    assert result.error == "States.IntrinsicFailure"


def test_an_argument_not_in_the_input_names_the_function_and_the_path() -> None:
    # Worded as executions on AWS have been reported to give it (a States.Array argument that
    # is not in the input): the whole function as written, then the path and the input.
    definition = {
        "StartAt": "Transform input values to array",
        "States": {
            "Transform input values to array": {
                "Type": "Pass",
                "Parameters": {"values.$": "States.Array($.requiredProperty, $.optional)"},
                "End": True,
            }
        },
    }
    assert failure(fails(definition, {"requiredProperty": 1})) == (
        "States.Runtime",
        state_error(
            "Transform input values to array",
            2,
            "The function 'States.Array($.requiredProperty, $.optional)' had the following "
            "error: The JsonPath argument for the field '$.optional' could not be found in the "
            """input '{"requiredProperty":1}'""",
        ),
    )
