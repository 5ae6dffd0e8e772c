"""ASL intrinsic functions (``States.Format(...)`` and friends): parse once, then evaluate."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bakusoku.workflow.errors import STATES_INTRINSIC_FAILURE, StatesError, WorkflowError


class IntrinsicSyntaxError(WorkflowError):
    """An intrinsic function expression cannot be parsed."""

    code = "workflow.intrinsic_syntax"


@dataclass(frozen=True)
class Literal:
    value: Any
    raw: str | None = None  # a string literal as written, escapes kept (States.Format needs them)


@dataclass(frozen=True)
class PathArg:
    path: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Literal | PathArg | Call, ...]


Arg = Literal | PathArg | Call

_ARITY: dict[str, tuple[int, int | None]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}

MAX_NESTING = 10
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"States\.[A-Za-z0-9]+")


def is_intrinsic(text: Any) -> bool:
    """True when ``text`` is written as an intrinsic function call."""
    return isinstance(text, str) and text.startswith("States.")


@functools.lru_cache(maxsize=2048)
def parse_intrinsic(text: str) -> Call:
    """Parse ``text``; raises IntrinsicSyntaxError naming what is wrong."""
    parser = _Parser(text)
    call = parser.parse_call()
    parser.skip_spaces()
    if parser.pos != len(text):
        raise parser.error("unexpected text after the closing parenthesis")
    if _depth(call) > MAX_NESTING:
        raise parser.error(f"functions may be nested at most {MAX_NESTING} deep")
    return call


def _depth(call: Call) -> int:
    return 1 + max((_depth(a) for a in call.args if isinstance(a, Call)), default=0)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(
            f"intrinsic function {self.text!r} is not valid: {what} (at offset {self.pos})"
        )

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\n":
            self.pos += 1

    def parse_call(self) -> Call:
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self.error("expected a function name such as States.Format")
        name = match.group(0)
        if name not in _ARITY:
            raise self.error(f"{name} is not an intrinsic function; use one of {', '.join(_ARITY)}")
        self.pos = match.end()
        self.skip_spaces()
        if self.text[self.pos : self.pos + 1] != "(":
            raise self.error("expected '('")
        self.pos += 1
        args: list[Arg] = []
        self.skip_spaces()
        if self.text[self.pos : self.pos + 1] == ")":
            self.pos += 1
        else:
            while True:
                self.skip_spaces()
                args.append(self.parse_arg())
                self.skip_spaces()
                ch = self.text[self.pos : self.pos + 1]
                self.pos += 1
                if ch == ")":
                    break
                if ch != ",":
                    raise self.error("expected ',' or ')'")
        low, high = _ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = (
                str(low) if low == high else f"{low} or more" if high is None else f"{low}-{high}"
            )
            raise self.error(f"{name} takes {wanted} arguments, got {len(args)}")
        return Call(name, tuple(args))

    def parse_arg(self) -> Arg:
        text, pos = self.text, self.pos
        ch = text[pos : pos + 1]
        if ch == "'":
            return self.parse_string()
        if ch == "$":
            end = pos
            depth, quote = 0, ""
            while end < len(text):
                c = text[end]
                if quote:
                    if c == quote:
                        quote = ""
                elif c in "'\"" and depth:
                    quote = c
                elif c == "[":
                    depth += 1
                elif c == "]":
                    depth -= 1
                elif depth == 0 and c in ",) ":
                    break
                end += 1
            self.pos = end
            return PathArg(text[pos:end])
        if text.startswith("States.", pos):
            return self.parse_call()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                self.pos += len(word)
                return Literal(value)
        match = _NUMBER.match(text, pos)
        if match:
            self.pos = match.end()
            raw = match.group(0)
            return Literal(float(raw) if any(c in raw for c in ".eE") else int(raw))
        raise self.error("expected a string, number, boolean, null, path or function")

    def parse_string(self) -> Literal:
        text = self.text
        start = self.pos + 1
        pos = start
        out: list[str] = []
        while pos < len(text):
            ch = text[pos]
            if ch == "\\" and pos + 1 < len(text):
                out.append(text[pos + 1])
                pos += 2
                continue
            if ch == "'":
                self.pos = pos + 1
                return Literal("".join(out), raw=text[start:pos])
            out.append(ch)
            pos += 1
        raise self.error("unterminated string")


# ---- evaluation -------------------------------------------------------------------------------

Resolver = Callable[[str], Any]


def evaluate_intrinsic(text: str, resolve: Resolver) -> Any:
    """Evaluate intrinsic ``text``; ``resolve`` reads path arguments (``$.x``, ``$$.x``, ``$v``).

    Raises StatesError(States.IntrinsicFailure) when an argument is of the wrong kind.
    """
    return _evaluate(parse_intrinsic(text), resolve)


def _evaluate(call: Call, resolve: Resolver) -> Any:
    values: list[Any] = []
    for arg in call.args:
        if isinstance(arg, Literal):
            values.append(arg.value)
        elif isinstance(arg, PathArg):
            values.append(resolve(arg.path))
        else:
            values.append(_evaluate(arg, resolve))
    if call.name == "States.Format":
        first = call.args[0]
        template = first.raw if isinstance(first, Literal) and first.raw is not None else None
        return _format(template, values[0], values[1:])
    function = _FUNCTIONS[call.name]
    try:
        return function(*values)
    except StatesError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
        raise _failure(call.name, str(exc)) from None


def _failure(name: str, why: str) -> StatesError:
    return StatesError(STATES_INTRINSIC_FAILURE, f"{name}: {why}")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _whole(name: str, value: Any, what: str) -> int:
    """An integer argument; Step Functions rounds a non-integer number to the nearest integer."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _failure(name, f"{what} must be an integer")
    return math.floor(value + 0.5) if isinstance(value, float) else value


def _need(name: str, ok: bool, what: str) -> None:
    if not ok:
        raise _failure(name, what)


def _format_value(value: Any) -> str:
    """An argument as States.Format writes it.

    An object or array is written as Java writes a map or a list (``{Arg1=1, Arg2=[]}``,
    strings unquoted), as executions recorded on AWS show it.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_format_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    return json.dumps(value)


def _format(raw: str | None, template: Any, args: list[Any]) -> str:
    _need("States.Format", isinstance(template, str), "the template must be a string")
    source = raw if raw is not None else template
    out: list[str] = []
    used = 0
    i = 0
    while i < len(source):
        ch = source[i]
        if raw is not None and ch == "\\" and i + 1 < len(source):
            out.append(source[i + 1])
            i += 2
            continue
        if source.startswith("{}", i):
            if used >= len(args):
                raise _failure("States.Format", "the template has more {} than arguments")
            out.append(_format_value(args[used]))
            used += 1
            i += 2
            continue
        out.append(ch)
        i += 1
    if used != len(args):
        raise _failure("States.Format", f"the template has {used} {{}} but {len(args)} arguments")
    return "".join(out)


def _string_to_json(value: Any) -> Any:
    _need("States.StringToJson", isinstance(value, str), "the argument must be a string")
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise _failure("States.StringToJson", f"the string is not JSON ({exc})") from None


def _json_to_string(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _array(*values: Any) -> list[Any]:
    return list(values)


def _array_partition(array: Any, size: Any) -> list[list[Any]]:
    _need("States.ArrayPartition", isinstance(array, list), "the first argument must be an array")
    n = _whole("States.ArrayPartition", size, "the chunk size")
    _need("States.ArrayPartition", n > 0, "the chunk size must be a positive integer")
    return [array[i : i + n] for i in range(0, len(array), n)]


def _array_contains(array: Any, value: Any) -> bool:
    _need("States.ArrayContains", isinstance(array, list), "the first argument must be an array")
    return any(_same(item, value) for item in array)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _array_range(start: Any, end: Any, step: Any) -> list[int]:
    name = "States.ArrayRange"
    first, last = _whole(name, start, "the start"), _whole(name, end, "the end")
    increment = _whole(name, step, "the step")
    _need(name, increment != 0, "the step must not be 0")
    values = list(range(first, last + (1 if increment > 0 else -1), increment))
    _need(name, len(values) <= 1000, "the range has more than 1000 items")
    return values


def _array_get_item(array: Any, index: Any) -> Any:
    name = "States.ArrayGetItem"
    _need(name, isinstance(array, list), "the first argument must be an array")
    _need(name, _is_int(index) and 0 <= index < len(array), f"index {index} is out of range")
    return array[int(index)]


def _array_length(array: Any) -> int:
    _need("States.ArrayLength", isinstance(array, list), "the argument must be an array")
    return len(array)


def _array_unique(array: Any) -> list[Any]:
    _need("States.ArrayUnique", isinstance(array, list), "the argument must be an array")
    out: list[Any] = []
    for item in array:
        if not any(_same(item, seen) for seen in out):
            out.append(item)
    return out


def _base64_encode(value: Any) -> str:
    name = "States.Base64Encode"
    _need(name, isinstance(value, str), "the argument must be a string")
    _need(name, len(value) <= 10000, "the string is longer than 10000 characters")
    return base64.b64encode(value.encode()).decode()


def _base64_decode(value: Any) -> str:
    name = "States.Base64Decode"
    _need(name, isinstance(value, str), "the argument must be a string")
    _need(name, len(value) <= 10000, "the string is longer than 10000 characters")
    try:
        return base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise _failure(name, "the string is not base64-encoded UTF-8") from None


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(value: Any, algorithm: Any) -> str:
    name = "States.Hash"
    _need(name, isinstance(value, str), "the data must be a string")
    _need(name, len(value) <= 10000, "the data is longer than 10000 characters")
    _need(name, algorithm in _HASHES, f"the algorithm must be one of {', '.join(_HASHES)}")
    return hashlib.new(_HASHES[algorithm], value.encode()).hexdigest()


def _json_merge(first: Any, second: Any, deep: Any) -> dict[str, Any]:
    name = "States.JsonMerge"
    _need(name, isinstance(first, dict) and isinstance(second, dict), "both must be JSON objects")
    _need(
        name, deep is False, "only shallow merging is supported: the third argument must be false"
    )
    return {**first, **second}


def _math_random(start: Any, end: Any, seed: Any = None) -> int:
    name = "States.MathRandom"
    low, high = _whole(name, start, "the start"), _whole(name, end, "the end")
    _need(name, low < high, "the start must be less than the end")
    rng = random.Random(_whole(name, seed, "the seed")) if seed is not None else random
    return rng.randrange(low, high)


def _math_add(a: Any, b: Any) -> int:
    name = "States.MathAdd"
    first, second = _whole(name, a, "the value"), _whole(name, b, "the step")
    for value in (first, second):
        _need(name, -(2**31) <= value < 2**31, f"{value} is outside the 32-bit integer range")
    return first + second


def _string_split(value: Any, delimiters: Any) -> list[str]:
    name = "States.StringSplit"
    _need(name, isinstance(value, str) and isinstance(delimiters, str), "arguments must be strings")
    if not delimiters:
        return [value]
    # Each character of the second argument is a delimiter; empty pieces are dropped.
    pieces = re.split("[" + re.escape(delimiters) + "]", value)
    return [p for p in pieces if p]


def _uuid() -> str:
    return str(uuid.uuid4())


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}
