"""Intrinsic functions evaluated on their own: argument forms, rounding, limits and errors."""

from __future__ import annotations

from typing import Any

import pytest

from bakusoku.workflow.errors import StatesError
from bakusoku.workflow.intrinsics import IntrinsicSyntaxError, evaluate_intrinsic, parse_intrinsic
from bakusoku.workflow.paths import evaluate

from .conftest import run_definition


def call(text: str, data: Any = None) -> Any:
    return evaluate_intrinsic(text, lambda path: evaluate(path, data))


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        # The developer guide's own examples are in
        # tests/workflow/conformance/test_intrinsic_functions.py; these are other argument forms.
        ("States.Format('{} + {} = {}', 1, 2.5, true)", None, "1 + 2.5 = true"),
        # The JSON text "States.Format('Your order is \\\\{complete\\\\}')" decodes to this.
        ("States.Format('Your order is \\{complete\\}')", None, "Your order is {complete}"),
        ("States.StringToJson($.someString)", {"someString": '{"number": 20}'}, {"number": 20}),
        (
            "States.JsonToString($.someJson)",
            {"someJson": {"name": "Foo", "zebra": "stripe"}},
            '{"name":"Foo","zebra":"stripe"}',
        ),
        (
            "States.ArrayPartition($.inputArray,4)",
            {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
            [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
        ),
        (
            "States.ArrayContains($.inputArray, $.lookingFor)",
            {"inputArray": [1, 2, 3], "lookingFor": 5},
            False,
        ),
        ("States.ArrayContains($.a, 2)", {"a": [1, 2, 3]}, True),
        ("States.ArrayRange(10, 0, -5)", None, [10, 5, 0]),
        ("States.ArrayLength(States.Array(1, 2, 3))", None, 3),
    ],
)
def test_argument_forms(text: str, data: Any, expected: Any) -> None:
    assert call(text, data) == expected


def test_non_integer_numbers_are_rounded_as_documented() -> None:
    assert call("States.MathAdd(1.5, 1)") == 3
    assert call("States.ArrayRange(1.4, 3, 1)") == [1, 2, 3]
    assert call("States.ArrayPartition(States.Array(1, 2, 3), 1.6)") == [[1, 2], [3]]


def test_nesting_is_limited_to_ten() -> None:
    nested = "States.Array(" * 10 + "1" + ")" * 10
    assert call(nested) == [[[[[[[[[[1]]]]]]]]]]
    with pytest.raises(IntrinsicSyntaxError, match="nested"):
        parse_intrinsic("States.Array(" * 11 + "1" + ")" * 11)


def test_math_random_is_in_range_and_seeded() -> None:
    values = {call("States.MathRandom(1, 999)") for _ in range(50)}
    assert all(1 <= v < 999 for v in values)
    assert call("States.MathRandom(1, 999, 7)") == call("States.MathRandom(1, 999, 7)")


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', 1)",
        "States.StringToJson('not json')",
        "States.ArrayGetItem(States.Array(1), 3)",
        "States.JsonMerge(States.StringToJson('{}'), States.StringToJson('{}'), true)",
        "States.Hash('x', 'SHA-999')",
        "States.MathAdd(2147483648, 1)",
        "States.MathAdd('1', 1)",
        "States.ArrayPartition(States.Array(1), 0)",
        "States.ArrayRange(0, 2000, 1)",
    ],
)
def test_failures_are_intrinsic_failures(text: str) -> None:
    with pytest.raises(StatesError) as failure:
        call(text)
    assert failure.value.error == "States.IntrinsicFailure"


def test_format_writes_objects_and_arrays_as_java_does() -> None:
    # Recorded on AWS: an object argument reads {Arg1=1, Arg2=[]}, strings inside unquoted.
    data = {"o": {"Arg1": 1, "Arg2": [], "s": "x", "n": None}, "a": [1, "b", [True]]}
    assert call("States.Format('{} and {}', $.o, $.a)", data) == (
        "{Arg1=1, Arg2=[], s=x, n=null} and [1, b, [true]]"
    )


@pytest.mark.parametrize(
    "text",
    [
        "States.Nope(1)",
        "States.Format(",
        "States.UUID(1)",
        "States.Array(1 2)",
        "States.Format('x') tail",
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(IntrinsicSyntaxError):
        parse_intrinsic(text)


def test_intrinsics_in_parameters_read_context_and_input() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "greeting.$": "States.Format('Hello {} from {}', $.who, $$.Execution.Name)",
                    "parts.$": "States.ArrayPartition($.items, 2)",
                },
                "End": True,
            }
        },
    }
    output = run_definition(definition, {"who": "Ann", "items": [1, 2, 3]})
    assert output == {"greeting": "Hello Ann from exec-1", "parts": [[1, 2], [3]]}
