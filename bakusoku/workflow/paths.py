"""JSONPath as ASL uses it: parse once, read values, and write a result at a reference path."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bakusoku.workflow.errors import WorkflowError


class PathSyntaxError(WorkflowError):
    """A JSONPath expression cannot be parsed."""

    code = "workflow.path_syntax"


class PathNotFoundError(WorkflowError):
    """A definite JSONPath found nothing in the data it was applied to."""

    code = "workflow.path_not_found"


class ReferencePathError(WorkflowError):
    """A value cannot be written at a reference path (an intermediate value is not an object)."""

    code = "workflow.result_path"


# ---- segments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    indices: tuple[int, ...]


@dataclass(frozen=True)
class Wildcard:
    pass


@dataclass(frozen=True)
class Slice:
    start: int | None
    end: int | None
    step: int | None


@dataclass(frozen=True)
class Filter:
    predicate: Callable[[Any, Any], bool]
    text: str


@dataclass(frozen=True)
class Descendants:
    """``..`` followed by a segment: apply ``segment`` to every node below the current ones."""

    segment: Child | Index | Wildcard | Slice | Filter


@dataclass(frozen=True)
class Length:
    """Jayway's ``.length()`` function on an array or string."""


Segment = Child | Index | Wildcard | Slice | Filter | Descendants | Length


@dataclass(frozen=True)
class ParsedPath:
    """A parsed path: ``root`` is ``$``, ``$$`` (the context object) or ``$name`` (a variable)."""

    text: str
    root: str
    segments: tuple[Segment, ...]

    # Parsed paths are cached (parse_path) and their properties read for every value read or
    # written: each is worked out once per path.
    @functools.cached_property
    def definite(self) -> bool:
        """True when the path names at most one value (no wildcard, slice, filter, union or ..)."""
        for seg in self.segments:
            if isinstance(seg, Child) and len(seg.names) == 1:
                continue
            if isinstance(seg, Index) and len(seg.indices) == 1:
                continue
            if isinstance(seg, Length):
                continue
            return False
        return True

    @functools.cached_property
    def is_reference(self) -> bool:
        """True for a Reference Path a result can be written at: names and indices, from ``$``."""
        return self.root == "$" and self.names_and_indices

    @functools.cached_property
    def names_and_indices(self) -> bool:
        """True when every step is a single name or a single non-negative index.

        From any root, this is a Reference Path to read from (SecondsPath, TimestampPath, ...):
        the input, the context object or a variable (``$var.field``).
        """
        return all(
            (isinstance(s, Child) and len(s.names) == 1)
            or (isinstance(s, Index) and len(s.indices) == 1 and s.indices[0] >= 0)
            for s in self.segments
        )


_NAME_END = re.compile(r"[.\[]")
_VARIABLE_ROOT = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@functools.lru_cache(maxsize=4096)
def parse_path(text: str) -> ParsedPath:
    """Parse ``text``; raises PathSyntaxError saying where it is wrong."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"path {text!r} must start with '$'")
    if text.startswith("$$"):
        root, pos = "$$", 2
    else:
        match = _VARIABLE_ROOT.match(text)
        if match:
            root, pos = text[: match.end()], match.end()
        else:
            root, pos = "$", 1
    parser = _PathParser(text, pos)
    segments = parser.parse_segments()
    return ParsedPath(text, root, tuple(segments))


class _PathParser:
    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def error(self, what: str) -> PathSyntaxError:
        return PathSyntaxError(
            f"path {self.text!r} is not valid JSONPath: {what} at offset {self.pos}"
        )

    def parse_segments(self) -> list[Segment]:
        segments: list[Segment] = []
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if text.startswith("..", self.pos):
                self.pos += 2
                if self.pos < len(text) and text[self.pos] == "[":
                    inner = self.parse_bracket()
                else:
                    inner = self.parse_dot_name()
                if isinstance(inner, Descendants | Length):
                    raise self.error("unexpected segment after '..'")
                segments.append(Descendants(inner))
            elif ch == ".":
                self.pos += 1
                if text.startswith("length()", self.pos) and self.pos + 8 == len(text):
                    self.pos += 8
                    segments.append(Length())
                    continue
                segments.append(self.parse_dot_name())
            elif ch == "[":
                segments.append(self.parse_bracket())
            else:
                raise self.error(f"unexpected character {ch!r}")
        return segments

    def parse_dot_name(self) -> Child | Wildcard:
        text = self.text
        if self.pos < len(text) and text[self.pos] == "*":
            self.pos += 1
            return Wildcard()
        match = _NAME_END.search(text, self.pos)
        end = match.start() if match else len(text)
        name = text[self.pos : end]
        if not name:
            raise self.error("empty name")
        self.pos = end
        return Child((name,))

    def parse_bracket(self) -> Child | Index | Wildcard | Slice | Filter:
        text = self.text
        self.pos += 1  # '['
        self.skip_spaces()
        if self.pos >= len(text):
            raise self.error("unterminated '['")
        ch = text[self.pos]
        if ch == "*":
            self.pos += 1
            self.expect("]")
            return Wildcard()
        if ch == "?":
            return self.parse_filter()
        if ch in "'\"":
            names = [self.parse_quoted()]
            self.skip_spaces()
            while self.peek() == ",":
                self.pos += 1
                self.skip_spaces()
                names.append(self.parse_quoted())
                self.skip_spaces()
            self.expect("]")
            return Child(tuple(names))
        end = text.find("]", self.pos)
        if end < 0:
            raise self.error("unterminated '['")
        body = text[self.pos : end].replace(" ", "")
        self.pos = end + 1
        try:
            if ":" in body:
                parts = body.split(":")
                if len(parts) > 3:
                    raise ValueError(body)
                nums = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
                if nums[2] == 0:
                    raise ValueError(body)
                return Slice(nums[0], nums[1], nums[2])
            return Index(tuple(int(p) for p in body.split(",")))
        except ValueError:
            raise self.error(f"bad subscript [{body}]") from None

    def parse_quoted(self) -> str:
        text = self.text
        quote = text[self.pos]
        if quote not in "'\"":
            raise self.error("expected a quoted name")
        self.pos += 1
        out: list[str] = []
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\" and self.pos + 1 < len(text):
                out.append(text[self.pos + 1])
                self.pos += 2
                continue
            if ch == quote:
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise self.error("unterminated quoted name")

    def parse_filter(self) -> Filter:
        text = self.text
        self.pos += 1  # '?'
        self.skip_spaces()
        self.expect("(")
        start = self.pos
        depth, quote = 1, ""
        while self.pos < len(text):
            ch = text[self.pos]
            if quote:
                if ch == "\\":
                    self.pos += 1
                elif ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    break
            self.pos += 1
        if depth != 0:
            raise self.error("unterminated filter")
        body = text[start : self.pos]
        self.pos += 1
        self.skip_spaces()
        self.expect("]")
        return Filter(_FilterParser(body, self.text).parse(), body)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def expect(self, ch: str) -> None:
        self.skip_spaces()
        if self.peek() != ch:
            raise self.error(f"expected {ch!r}")
        self.pos += 1


# ---- filter expressions -----------------------------------------------------------------------

_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|<|>|=~|&&|\|\||!|\(|\))"
    r"|(?P<str>'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\")"
    r"|(?P<regex>/(?:\\.|[^/\\])*/[a-z]*)"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<word>true|false|null)"
    r"|(?P<path>[@$][^\s=!<>&|()]*))"
)

_MISSING = object()
Operand = Callable[[Any, Any], Any]


class _FilterParser:
    """Recursive-descent parser of ``[?( ... )]`` bodies into predicates of (node, root)."""

    def __init__(self, body: str, whole: str) -> None:
        self.whole = whole
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(body):
            if body[pos:].strip() == "":
                break
            match = _FILTER_TOKEN.match(body, pos)
            if not match or match.end() == pos:
                raise PathSyntaxError(f"path {whole!r}: cannot read filter near {body[pos:]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.i = 0

    def parse(self) -> Callable[[Any, Any], bool]:
        pred = self.parse_or()
        if self.i != len(self.tokens):
            raise PathSyntaxError(f"path {self.whole!r}: unexpected {self.tokens[self.i][1]!r}")
        return pred

    def peek(self) -> str:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else ""

    def parse_or(self) -> Callable[[Any, Any], bool]:
        left = self.parse_and()
        while self.peek() == "||":
            self.i += 1
            right = self.parse_and()
            left = (lambda a, b: lambda n, r: a(n, r) or b(n, r))(left, right)
        return left

    def parse_and(self) -> Callable[[Any, Any], bool]:
        left = self.parse_unary()
        while self.peek() == "&&":
            self.i += 1
            right = self.parse_unary()
            left = (lambda a, b: lambda n, r: a(n, r) and b(n, r))(left, right)
        return left

    def parse_unary(self) -> Callable[[Any, Any], bool]:
        if self.peek() == "!":
            self.i += 1
            inner = self.parse_unary()
            return lambda n, r: not inner(n, r)
        if self.peek() == "(":
            self.i += 1
            inner = self.parse_or()
            if self.peek() != ")":
                raise PathSyntaxError(f"path {self.whole!r}: missing ')' in filter")
            self.i += 1
            return inner
        left = self.parse_operand()
        op = self.peek()
        if op in ("==", "!=", "<", "<=", ">", ">=", "=~"):
            self.i += 1
            right = self.parse_operand()
            return _comparison(op, left, right)
        return lambda n, r: left(n, r) not in (_MISSING, None, False)

    def parse_operand(self) -> Operand:
        if self.i >= len(self.tokens):
            raise PathSyntaxError(f"path {self.whole!r}: filter ends early")
        kind, text = self.tokens[self.i]
        self.i += 1
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", text[1:-1])
            return lambda n, r: value
        if kind == "num":
            num: float | int = float(text) if any(c in text for c in ".eE") else int(text)
            return lambda n, r: num
        if kind == "word":
            word = {"true": True, "false": False, "null": None}[text]
            return lambda n, r: word
        if kind == "regex":
            body, flags = text[1:].rsplit("/", 1)
            pattern = re.compile(body, re.IGNORECASE if "i" in flags else 0)
            return lambda n, r: pattern
        if kind == "path":
            sub = parse_path("$" + text[1:])
            if text.startswith("@"):
                return lambda n, r: _read_or_missing(sub, n)
            return lambda n, r: _read_or_missing(sub, r)
        raise PathSyntaxError(f"path {self.whole!r}: unexpected {text!r} in filter")


def _read_or_missing(path: ParsedPath, data: Any) -> Any:
    try:
        return evaluate_parsed(path, data)
    except PathNotFoundError:
        return _MISSING


def _comparison(op: str, left: Operand, right: Operand) -> Callable[[Any, Any], bool]:
    def compare(node: Any, root: Any) -> bool:
        a, b = left(node, root), right(node, root)
        if a is _MISSING or b is _MISSING:
            return False
        if op == "=~":
            return isinstance(a, str) and isinstance(b, re.Pattern) and bool(b.fullmatch(a))
        if op == "==":
            return _json_equal(a, b)
        if op == "!=":
            return not _json_equal(a, b)
        comparable = (_is_number(a) and _is_number(b)) or (
            isinstance(a, str) and isinstance(b, str)
        )
        if not comparable:
            return False
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)

    return compare


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


# ---- evaluation -------------------------------------------------------------------------------


def evaluate(path: str, data: Any) -> Any:
    """The value at a definite ``path``, or the list of matches of an indefinite one.

    Raises PathNotFoundError when a definite path matches nothing.
    """
    return evaluate_parsed(parse_path(path), data)


def evaluate_parsed(parsed: ParsedPath, data: Any) -> Any:
    nodes = [data]
    for seg in parsed.segments:
        if isinstance(seg, Length):
            nodes = [len(n) for n in nodes if isinstance(n, list | str | dict)]
            continue
        nodes = _apply(seg, nodes, data)
    if parsed.definite:
        if not nodes:
            raise PathNotFoundError(_not_found(parsed, data))
        return nodes[0]
    return nodes


def normalized(segments: tuple[Segment, ...], root: str = "$") -> str:
    """A definite path as Jayway JsonPath (Step Functions' reader) prints it: ``$['a'][0]``."""
    parts = [root]
    for seg in segments:
        if isinstance(seg, Child):
            parts.append("[" + ",".join(f"'{name}'" for name in seg.names) + "]")
        elif isinstance(seg, Index):
            parts.append("[" + ",".join(str(i) for i in seg.indices) + "]")
        elif isinstance(seg, Length):
            parts.append(".length()")
    return "".join(parts)


def _not_found(parsed: ParsedPath, data: Any) -> str:
    """Why a definite path found nothing, in Jayway's words (Step Functions quotes them).

    A name missing before the last step is a "Missing property"; anything else (the last name
    missing, an index out of range) is "No results" for the whole path.
    """
    node = data
    segments = parsed.segments
    for pos, seg in enumerate(segments[:-1]):
        if isinstance(seg, Child) and isinstance(node, dict) and seg.names[0] not in node:
            return "Missing property in path " + normalized(segments[: pos + 1])
        found = _apply(seg, [node], data)
        if not found:
            break
        node = found[0]
    return "No results for path: " + normalized(segments)


def _apply(seg: Segment, nodes: list[Any], root: Any) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if isinstance(seg, Child):
            if isinstance(node, dict):
                out.extend(node[name] for name in seg.names if name in node)
        elif isinstance(seg, Index):
            if isinstance(node, list):
                for i in seg.indices:
                    if -len(node) <= i < len(node):
                        out.append(node[i])
        elif isinstance(seg, Wildcard):
            if isinstance(node, dict):
                out.extend(node.values())
            elif isinstance(node, list):
                out.extend(node)
        elif isinstance(seg, Slice):
            if isinstance(node, list):
                out.extend(node[seg.start : seg.end : seg.step])
        elif isinstance(seg, Filter):
            children = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
            out.extend(child for child in children if seg.predicate(child, root))
        elif isinstance(seg, Descendants):
            for inner in _descendants_and_self(node):
                out.extend(_apply(seg.segment, [inner], root))
    return out


def _descendants_and_self(node: Any) -> list[Any]:
    found = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        found.extend(_descendants_and_self(child))
    return found


def set_reference(data: Any, path: str, value: Any) -> Any:
    """A copy of ``data`` with ``value`` placed at the reference ``path`` (``$`` replaces all).

    Missing objects along the way are created, as ASL's ResultPath does; raises
    ReferencePathError when an intermediate value is not an object.
    """
    parsed = parse_path(path)
    if not parsed.is_reference:
        raise ReferencePathError(f"{path!r} is not a reference path (only names and indices)")
    if not parsed.segments:
        return value
    result = copy.deepcopy(data)
    node = result
    segments = parsed.segments
    for pos, seg in enumerate(segments):
        last = pos == len(segments) - 1
        if isinstance(seg, Child):
            name = seg.names[0]
            if not isinstance(node, dict):
                raise ReferencePathError(
                    f"Unable to apply ResultPath {path!r}: "
                    f"the value before {name!r} is not a JSON object"
                )
            if last:
                node[name] = value
            else:
                if name not in node:
                    node[name] = {}
                node = node[name]
        else:
            assert isinstance(seg, Index)
            index = seg.indices[0]
            if not isinstance(node, list) or index >= len(node):
                raise ReferencePathError(
                    f"Unable to apply ResultPath {path!r}: index [{index}] is not in the input"
                )
            if last:
                node[index] = value
            else:
                node = node[index]
    return result
