"""FieldType: what a JSON value of an event must be to be read as text, an integer, an object...

The one place that decides how numbers are read. JSON has one number type, and AWS's own
serialisers sometimes write an integer as ``5242880.0`` (CloudTrail's ``bytesTransferredIn``):
an integral float is an integer, a fractional one is not, and ``true`` is never a number (Python's
bool is an int subclass). DynamoDB numbers arrive as Decimal and follow the same rule.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class FieldType(Generic[T]):
    """A type a field can be read as: ``convert`` gives the value, or None when it is not one."""

    expected: str  # for messages: "... is bool, expected an integer"
    convert: Callable[[Any], T | None]


def as_integer(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (5, 5.0, Decimal("5")); otherwise None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _hex(value: Any) -> str | None:
    if isinstance(value, str) and value and all(c in string.hexdigits for c in value):
        return value
    return None


def _boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _object(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _array(value: Any) -> list[Any] | None:
    return value if isinstance(value, list) else None


TEXT = FieldType("text", _text)
NAME = FieldType("non-empty text", _name)  # bucket names and object keys
HEX = FieldType("hexadecimal text", _hex)  # S3 sequencers, compared as numbers
INTEGER = FieldType("an integer", as_integer)
NUMBER = FieldType("a number", _number)  # epoch seconds, fractions allowed
BOOLEAN = FieldType("true or false", _boolean)
OBJECT = FieldType("an object", _object)
ARRAY = FieldType("an array", _array)


def describe(value: Any) -> str:
    """What a value is, for messages: its JSON type, and the number itself for a number."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return f"{type(value).__name__} {value}"
    return type(value).__name__
