"""EventView: the read-only base of every typed event wrapper, with strict field access."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from bakusoku.events.errors import MalformedEventError
from bakusoku.utc import parse_iso

T = TypeVar("T")


class EventView:
    """Wraps one JSON object of an event; subclasses add typed, read-only properties."""

    __slots__ = ("_data", "_where")

    shape = "event"  # what the wrapped object is, for error messages

    def __init__(self, data: Mapping[str, Any], *, where: str = "") -> None:
        if not isinstance(data, Mapping):
            raise MalformedEventError(
                f"{where or self.shape}: expected a JSON object, got {type(data).__name__}"
            )
        self._data = data
        self._where = where or self.shape

    @property
    def raw(self) -> Mapping[str, Any]:
        """The wrapped object itself, read-only."""
        return MappingProxyType(dict(self._data))

    def _get(self, *path: str, kind: type[T], optional: bool = False) -> T | None:
        value: Any = self._data
        for depth, name in enumerate(path):
            if not isinstance(value, Mapping) or name not in value or value[name] is None:
                if optional:
                    return None
                at = ".".join(path[: depth + 1])
                raise MalformedEventError(f"{self._where}: field {at!r} is missing")
            value = value[name]
        # bool is an int subclass; a size of True is not a size.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MalformedEventError(
                f"{self._where}: field {'.'.join(path)!r} is {type(value).__name__}, "
                f"expected {kind.__name__}"
            )
        return value

    def _str(self, *path: str) -> str:
        value = self._get(*path, kind=str)
        assert value is not None
        return value

    def _opt_str(self, *path: str) -> str | None:
        return self._get(*path, kind=str, optional=True)

    def _opt_int(self, *path: str) -> int | None:
        return self._get(*path, kind=int, optional=True)

    def _mapping(self, *path: str) -> Mapping[str, Any]:
        value = self._get(*path, kind=Mapping)  # type: ignore[type-abstract]
        assert value is not None
        return value

    def _list(self, *path: str) -> list[Any]:
        value = self._get(*path, kind=list)
        assert value is not None
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self._data)!r})"


def parse_time(value: str, *, where: str) -> datetime.datetime:
    """An ISO-8601 timestamp as AWS writes them ('...Z'), as an aware UTC datetime."""
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise MalformedEventError(f"{where}: time {value!r} is not ISO-8601") from exc


def parse_json(text: str, *, where: str) -> Any:
    """Parse a JSON string carried inside another event (SNS Message, SQS body)."""
    try:
        return json.loads(text)
    except ValueError:
        preview = text if len(text) <= 60 else text[:57] + "..."
        raise MalformedEventError(f"{where} is not JSON: {preview!r}") from None


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
        return [
            kind(record, where=f"{self._where} Records[{i}]")
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
