"""Choice rules of JSONPath states: comparison operators, type tests and And/Or/Not."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from operator import eq, ge, gt, le, lt
from typing import Any

from bakusoku.workflow.errors import STATES_RUNTIME, StatesError
from bakusoku.workflow.paths import PathNotFoundError

Reader = Callable[[str], Any]


class ChoicePathError(StatesError):
    """A rule's Variable (or ``...Path`` operand) names nothing in the input: States.Runtime.

    The cause is Step Functions' detail; the state adds where it happened (frames.state_failure).
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            STATES_RUNTIME,
            f"Invalid path '{path}': The choice state's condition path references an invalid value.",
        )


_Comparison = Callable[[Any, Any], bool]


def _comparisons(kind: str) -> dict[str, _Comparison]:
    """The five comparison operators of one kind of value, e.g. ``StringEquals``."""
    return {
        f"{kind}Equals": eq,
        f"{kind}LessThan": lt,
        f"{kind}GreaterThan": gt,
        f"{kind}LessThanEquals": le,
        f"{kind}GreaterThanEquals": ge,
    }


_STRING_OPS = _comparisons("String")
_NUMERIC_OPS = _comparisons("Numeric")
_TIMESTAMP_OPS = _comparisons("Timestamp")
_TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
_BASE_OPERATORS = (
    *_STRING_OPS,
    "StringMatches",
    *_NUMERIC_OPS,
    "BooleanEquals",
    *_TIMESTAMP_OPS,
)

#: Every comparison operator name a rule may use, including the ``...Path`` forms.
COMPARISON_OPERATORS: frozenset[str] = frozenset(
    [
        *_BASE_OPERATORS,
        *(f"{op}Path" for op in _BASE_OPERATORS if op != "StringMatches"),
        *_TYPE_TESTS,
    ]
)

# RFC 3339 as ASL restricts it: uppercase T, and Z or a numeric offset.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> datetime | None:
    """The instant ``value`` names when it is an ASL timestamp string, else None."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        # Python reads at most 6 fractional digits; ASL allows more.
        head, rest = text.split(".", 1)
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = f"{head}.{digits.group(0)[:6].ljust(6, '0')}{rest[digits.end() :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def string_matches(value: str, pattern: str) -> bool:
    """ASL StringMatches: ``*`` matches any run of characters; ``\\*`` and ``\\\\`` are literals."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(parts), value, re.DOTALL) is not None


def evaluate_rule(rule: Mapping[str, Any], read: Reader) -> bool:
    """Whether ``rule`` (a Choice rule or a nested one) holds; ``read`` reads paths.

    A missing Variable is a States.Runtime error, except for IsPresent, as in Step Functions.
    """
    if "And" in rule:
        return all(evaluate_rule(sub, read) for sub in rule["And"])
    if "Or" in rule:
        return any(evaluate_rule(sub, read) for sub in rule["Or"])
    if "Not" in rule:
        return not evaluate_rule(rule["Not"], read)
    variable = rule["Variable"]
    operator = next(key for key in rule if key in COMPARISON_OPERATORS)
    expected = rule[operator]
    try:
        value = read(variable)
        present = True
    except PathNotFoundError:
        value, present = None, False
    if operator == "IsPresent":
        return present is bool(expected)
    if not present:
        raise ChoicePathError(variable)
    if operator.endswith("Path"):
        operator = operator[: -len("Path")]
        try:
            expected = read(expected)
        except PathNotFoundError:
            raise ChoicePathError(rule[operator + "Path"]) from None
    return _compare(operator, value, expected)


def _compare(operator: str, value: Any, expected: Any) -> bool:
    if operator in _TYPE_TESTS:
        if operator == "IsNull":
            result = value is None
        elif operator == "IsNumeric":
            result = _is_number(value)
        elif operator == "IsString":
            result = isinstance(value, str)
        elif operator == "IsBoolean":
            result = isinstance(value, bool)
        else:
            result = parse_timestamp(value) is not None
        return result is bool(expected)
    if operator in _STRING_OPS:
        if not (isinstance(value, str) and isinstance(expected, str)):
            return False
        # Java's String.compareTo orders by UTF-16 code units, which big-endian UTF-16 bytes keep.
        return bool(_STRING_OPS[operator](_utf16(value), _utf16(expected)))
    if operator == "StringMatches":
        return (
            isinstance(value, str) and isinstance(expected, str) and string_matches(value, expected)
        )
    if operator in _NUMERIC_OPS:
        return (
            _is_number(value) and _is_number(expected) and _NUMERIC_OPS[operator](value, expected)
        )
    if operator == "BooleanEquals":
        return isinstance(value, bool) and isinstance(expected, bool) and value is expected
    if operator in _TIMESTAMP_OPS:
        left, right = parse_timestamp(value), parse_timestamp(expected)
        return left is not None and right is not None and _TIMESTAMP_OPS[operator](left, right)
    raise StatesError(STATES_RUNTIME, f"unknown Choice operator {operator!r}")
