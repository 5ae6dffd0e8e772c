"""EventView: the read-only base of every typed event wrapper, and its field readers.

Every view reads its fields through ``_field``: a field is found by name, read as a FieldType
(fields.py decides what counts as an integer), and, when it is missing or of another type,
refused with a MalformedEventError that names the document and the field's jq path
(``event: .Records[0].s3.object.key is missing``). Views read
lazily: a field is looked at only when its property is, so a field nobody asks for never
rejects an event.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import unquote_plus

from bakusoku.events.errors import MalformedEventError
from bakusoku.events.fields import (
    ARRAY,
    BOOLEAN,
    HEX,
    INTEGER,
    NAME,
    OBJECT,
    TEXT,
    FieldType,
    describe,
)
from bakusoku.events.paths import ROOT, JsonPath
from bakusoku.utc import parse_iso

T = TypeVar("T")


class EventView:
    """Wraps one JSON object of an event; subclasses add typed, read-only properties.

    ``where`` names the document in messages (the route it came by, or what holds it);
    ``path`` is where this object sits in that document.
    """

    __slots__ = ("_data", "_path", "_where")

    shape = "event"  # what the wrapped object is, for error messages

    def __init__(self, data: Mapping[str, Any], *, where: str = "", path: JsonPath = ROOT) -> None:
        self._where = where or self.shape
        self._path = path
        if not isinstance(data, Mapping):
            raise self.malformed(f"is {describe(data)}, expected an object ({self.shape})")
        self._data = data

    @property
    def raw(self) -> Mapping[str, Any]:
        """The wrapped object itself, read-only."""
        return MappingProxyType(dict(self._data))

    @property
    def where(self) -> str:
        """The document this view reads, as messages name it."""
        return self._where

    @property
    def json_path(self) -> JsonPath:
        """Where this view's object sits in the document."""
        return self._path

    def malformed(self, problem: str, *names: str) -> MalformedEventError:
        """An error saying ``problem`` of the field at ``names`` (this object when none)."""
        return malformed(self._where, self._path.keys(*names), problem)

    def _field(self, names: tuple[str, ...], kind: FieldType[T], *, required: bool) -> T | None:
        """The field at ``names`` read as ``kind``; None when absent or null and not required."""
        value: Any = self._data
        path = self._path
        for name in names:
            if not isinstance(value, Mapping):
                raise malformed(self._where, path, wrong_type(value, OBJECT))
            path = path.key(name)
            value = value.get(name)
            if value is None:
                if required:
                    raise malformed(self._where, path, "is missing")
                return None
        converted = kind.convert(value)
        if converted is None:
            raise malformed(self._where, path, wrong_type(value, kind))
        return converted

    def _required(self, names: tuple[str, ...], kind: FieldType[T]) -> T:
        value = self._field(names, kind, required=True)
        assert value is not None  # required: _field raised rather than return None
        return value

    def _str(self, *names: str) -> str:
        return self._required(names, TEXT)

    def _name(self, *names: str) -> str:
        """Non-empty text: a bucket name or an object key."""
        return self._required(names, NAME)

    def _url_encoded_name(self, *names: str) -> str:
        """An object key as S3 writes it in its events, decoded ('+' a space, %XX its bytes).

        Keys are UTF-8, so escapes that decode to no UTF-8 text are refused: read leniently,
        they would name a key (with U+FFFD) that was never uploaded.
        """
        raw = self._name(*names)
        try:
            return unquote_plus(raw, errors="strict")
        except UnicodeDecodeError:
            raise self.malformed(f"is not URL-encoded UTF-8: {raw!r}", *names) from None

    def _int(self, *names: str) -> int:
        return self._required(names, INTEGER)

    def _mapping(self, *names: str) -> Mapping[str, Any]:
        return self._required(names, OBJECT)

    def _list(self, *names: str) -> list[Any]:
        return self._required(names, ARRAY)

    def _opt_str(self, *names: str) -> str | None:
        return self._field(names, TEXT, required=False)

    def _opt_hex(self, *names: str) -> str | None:
        return self._field(names, HEX, required=False)

    def _opt_int(self, *names: str) -> int | None:
        return self._field(names, INTEGER, required=False)

    def _opt_bool(self, *names: str) -> bool | None:
        return self._field(names, BOOLEAN, required=False)

    def _opt_mapping(self, *names: str) -> Mapping[str, Any] | None:
        return self._field(names, OBJECT, required=False)

    def _time(self, *names: str) -> datetime.datetime:
        """An ISO-8601 time field, as an aware UTC datetime."""
        return parse_time(self._str(*names), where=self._where, path=self._path.keys(*names))

    def _embedded_json(self, *names: str) -> Embedded:
        """The JSON document carried as text in the field at ``names`` (SNS Message, SQS body)."""
        path = self._path.keys(*names)
        return Embedded(parse_json(self._str(*names), where=self._where, path=path), path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self._data)!r})"


@dataclass(frozen=True)
class Embedded:
    """A document found inside another (JSON text, base64 data) and the path of its text."""

    document: Any
    text_path: JsonPath
    decoded_by: str = "fromjson"

    @property
    def path(self) -> JsonPath:
        """The path of the decoded document: the text's path piped through its decoding."""
        return self.text_path.then(self.decoded_by)


def malformed(where: str, path: JsonPath, problem: str) -> MalformedEventError:
    """``where: <path> <problem>``, the one layout of every MalformedEventError message."""
    return MalformedEventError(f"{where}: {path} {problem}")


def wrong_type(value: Any, kind: FieldType[Any]) -> str:
    """The problem of a value that is not a ``kind``: ``is str, expected an integer``."""
    return f"is {describe(value)}, expected {kind.expected}"


def parse_time(value: str, *, where: str, path: JsonPath) -> datetime.datetime:
    """An ISO-8601 timestamp as AWS writes them ('...Z'), as an aware UTC datetime."""
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise malformed(where, path, f"is not an ISO-8601 time: {value!r}") from exc


def parse_json(text: str, *, where: str, path: JsonPath) -> Any:
    """Parse a JSON string carried inside another event (SNS Message, SQS body)."""
    try:
        return json.loads(text)
    except ValueError:
        preview = text if len(text) <= 60 else text[:57] + "..."
        raise malformed(where, path, f"is not JSON: {preview!r}") from None


RecordT = TypeVar("RecordT", bound=EventView)


class RecordsEvent(EventView, Generic[RecordT]):
    """The batch envelope AWS services hand to Lambda: ``{"Records": [...]}`` of one source.

    Subclasses name the record wrapper and how a record says where it came from (S3, SQS,
    Kinesis and DynamoDB write ``eventSource``; SNS writes ``EventSource``).
    """

    __slots__ = ()
    record_type: ClassVar[type[EventView]]
    source_field: ClassVar[str] = "eventSource"
    source: ClassVar[str]

    @property
    def records(self) -> list[RecordT]:
        kind: Any = self.record_type
        records = self._path.key("Records")
        return [
            kind(record, where=self._where, path=records.index(i))
            for i, record in enumerate(self._list("Records"))
        ]

    @classmethod
    def matches(cls, event: Mapping[str, Any]) -> bool:
        records = event.get("Records")
        return (
            isinstance(records, list)
            and bool(records)
            and all(
                isinstance(r, Mapping) and r.get(cls.source_field) == cls.source for r in records
            )
        )
