"""FieldType: which JSON values read as text, integers, numbers, booleans, objects and arrays."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from bakusoku.events.fields import (
    ARRAY,
    BOOLEAN,
    HEX,
    INTEGER,
    NAME,
    NUMBER,
    OBJECT,
    TEXT,
    as_integer,
    describe,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5242880, 5242880),
        (5242880.0, 5242880),  # CloudTrail's bytesTransferredIn as some serialisers write it
        (0.0, 0),
        (-3.0, -3),
        (1e20, 10**20),
        (Decimal("1024"), 1024),  # DynamoDB numbers
        (Decimal("1024.000"), 1024),
    ],
)
def test_whole_numbers_are_integers_whatever_their_spelling(value: Any, expected: int) -> None:
    read = as_integer(value)

    assert read == expected
    assert type(read) is int


@pytest.mark.parametrize(
    "value",
    [5242880.5, 0.1, math.inf, -math.inf, math.nan, Decimal("1.5"), True, False, "5", None, [5]],
)
def test_anything_else_is_not_an_integer(value: Any) -> None:
    assert as_integer(value) is None
    assert INTEGER.convert(value) is None


@pytest.mark.parametrize(
    ("kind", "accepted", "refused"),
    [
        (TEXT, ["", "key"], [1, None, True, ["a"]]),
        (NAME, ["photos", "a b.jpg"], ["", 1, ["a"]]),
        (HEX, ["0055AED6DCD90281E5", "617f08299329d189"], ["", "xyz", "12 34", 12]),
        (NUMBER, [1, 1.5, Decimal("2.25")], [True, "1", math.inf, math.nan]),
        (BOOLEAN, [True, False], [0, 1, "true", None]),
        (OBJECT, [{}, {"a": 1}], [[], "{}", 1]),
        (ARRAY, [[], [1]], [{}, "[]", 1]),
    ],
)
def test_each_field_type_accepts_its_values_only(
    kind: Any, accepted: list[Any], refused: list[Any]
) -> None:
    assert [kind.convert(value) for value in accepted] == [
        float(value) if kind is NUMBER else value for value in accepted
    ]
    assert [kind.convert(value) for value in refused] == [None] * len(refused)


@pytest.mark.parametrize(
    ("value", "text"),
    [("x", "str"), (True, "bool"), (0.5, "float 0.5"), (7, "int 7"), (None, "NoneType")],
)
def test_messages_say_what_a_value_was(value: Any, text: str) -> None:
    assert describe(value) == text
