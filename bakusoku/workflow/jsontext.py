"""JSON text of workflow data: orjson for speed, the standard library for what orjson refuses.

An execution's data is turned into text several times per state (history details, checkpoints,
the copy a task gets); the standard encoder's per-call cost was a fifth of the engine's time.
orjson writes the same compact UTF-8 text (only float exponents differ: ``1e-7`` for
``1e-07``). It refuses integers beyond 64 bits and non-string keys, where the standard library
decides as before; datetimes, dataclasses and subclasses go to it too, so what is not JSON
still fails as it did. Text is read back with orjson only when orjson wrote it: orjson reads
integers beyond 64 bits as floats.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def dumps(value: Any) -> str:
    """Compact JSON text of ``value``; TypeError or ValueError when it is not JSON."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def copy(value: Any) -> tuple[Any, str]:
    """A deep copy of ``value`` made of plain JSON types, and its text (as ``dumps``)."""
    try:
        text = orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return json.loads(text), text
    return orjson.loads(text), text


def loads(text: str | bytes | bytearray) -> Any:
    """The JSON value of ``text`` (integers of any size); ValueError when it is not JSON."""
    return json.loads(text)


__all__ = ["copy", "dumps", "loads"]
