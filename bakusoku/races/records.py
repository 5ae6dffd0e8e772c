"""Entry lists and timing results as they arrive: CSV files and JSON posts, read strictly.

A timing system or an organiser's spreadsheet sends rows; each row becomes an :class:`Entry` or a
:class:`Result`, or a :class:`RowError` naming the row, the column and what to fix. Rows are
independent: one bad row never rejects the others, so a live timing feed keeps flowing.
No I/O here: the repository stores what these functions return.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bakusoku.errors import BakusokuError

BIB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,15}$")
CHECKPOINT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
FINISH = "finish"
# Race times: H:MM:SS, H:MM:SS.f or MM:SS, as timing systems print them; or seconds as a number.
_CLOCK = re.compile(r"^(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)(?:[.,](\d{1,3}))?$")
MAX_TEXT = 120
MAX_ROWS = 50_000

# Column names as organisers write them (English and Japanese), mapped to ours.
_ALIASES = {
    "bib": "bib",
    "bib_number": "bib",
    "number": "bib",
    "ゼッケン": "bib",
    "ナンバー": "bib",
    "name": "name",
    "氏名": "name",
    "名前": "name",
    "surname": "surname",
    "family_name": "surname",
    "姓": "surname",
    "category": "category",
    "種目": "category",
    "部門": "category",
    "checkpoint": "checkpoint",
    "gun_time": "gun_time",
    "グロス": "gun_time",
    "net_time": "net_time",
    "ネット": "net_time",
    "finish_time": "finish_at",
    "finish_at": "finish_at",
    "clock_time": "finish_at",
}


class RecordsError(BakusokuError):
    """The upload as a whole cannot be read (not CSV, no bib column, too many rows)."""

    code = "race.invalid_rows"


@dataclass(frozen=True)
class Entry:
    """One runner on the entry list."""

    bib: str
    name: str
    surname: str | None = None  # the second factor a family member gives with the bib
    category: str | None = None


@dataclass(frozen=True)
class Result:
    """One runner's time at one checkpoint (``finish`` unless the row names another)."""

    bib: str
    checkpoint: str
    net_ms: int | None
    gun_ms: int | None
    finish_at: str | None  # ISO 8601 wall-clock time the runner crossed, as the system sent it
    name: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class RowError:
    """A row that was not taken, and why (``row`` counts from 1, the header not included)."""

    row: int
    column: str
    message: str


def read_csv(text: str) -> list[dict[str, str]]:
    """The rows of a CSV upload as dicts keyed by our column names (aliases understood)."""
    if text.startswith("\ufeff"):
        text = text[1:]  # Excel writes a BOM at the start of UTF-8 CSV
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        names = {raw: _ALIASES.get(_normal(raw), _normal(raw)) for raw in header}
        if "bib" not in names.values():
            raise RecordsError(
                "the CSV has no bib column: its first line must name the columns, e.g. "
                "bib,name,category (or ゼッケン,氏名,種目)"
            )
        rows = []
        for index, raw in enumerate(reader):
            if index >= MAX_ROWS:
                raise RecordsError(f"more than {MAX_ROWS} rows: split the file")
            rows.append({names[k]: (v or "").strip() for k, v in raw.items() if k in names})
        return rows
    except csv.Error as exc:
        raise RecordsError(f"the file is not readable CSV ({exc}): save it as CSV UTF-8") from exc


def entries_from(rows: Iterable[Mapping[str, Any]]) -> tuple[list[Entry], list[RowError]]:
    """Entries from rows with at least ``bib`` and ``name``; a repeated bib keeps its last row."""
    entries: dict[str, Entry] = {}
    errors: list[RowError] = []
    for number, row in enumerate(rows, start=1):
        try:
            entry = Entry(
                bib=_bib(row),
                name=_text(row, "name", required=True) or "",
                surname=_text(row, "surname"),
                category=_text(row, "category"),
            )
        except _RowProblem as problem:
            errors.append(RowError(number, problem.column, problem.message))
            continue
        entries[entry.bib] = entry
    return list(entries.values()), errors


def results_from(rows: Iterable[Mapping[str, Any]]) -> tuple[list[Result], list[RowError]]:
    """Results from rows with ``bib`` and a net or gun time; the last row per bib+checkpoint wins."""
    results: dict[tuple[str, str], Result] = {}
    errors: list[RowError] = []
    for number, row in enumerate(rows, start=1):
        try:
            result = _result(row)
        except _RowProblem as problem:
            errors.append(RowError(number, problem.column, problem.message))
            continue
        results[result.bib, result.checkpoint] = result
    return list(results.values()), errors


def format_ms(ms: int | None) -> str | None:
    """A race time as runners read it: ``H:MM:SS``, tenths only when they are there."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{text}.{millis // 100}" if millis else text


class _RowProblem(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _result(row: Mapping[str, Any]) -> Result:
    given = row.get("checkpoint") or FINISH
    checkpoint = given.strip().lower() if isinstance(given, str) else ""
    if not CHECKPOINT.match(checkpoint):
        raise _RowProblem(
            "checkpoint", "a checkpoint is 1-32 lower-case letters, digits, '_' or '-', e.g. 10k"
        )
    net = _duration(row, "net_time")
    gun = _duration(row, "gun_time")
    if net is None and gun is None:
        raise _RowProblem("net_time", "give net_time or gun_time, e.g. 3:12:45")
    return Result(
        bib=_bib(row),
        checkpoint=checkpoint,
        net_ms=net,
        gun_ms=gun,
        finish_at=_instant(row, "finish_at"),
        name=_text(row, "name"),
        category=_text(row, "category"),
    )


def _bib(row: Mapping[str, Any]) -> str:
    value = row.get("bib")
    if value is None:
        raise _RowProblem("bib", "every row needs a bib number")
    if not isinstance(value, str):  # 1234, 12.0 or true is not read as a bib: send "1234"
        raise _RowProblem("bib", 'a bib is text, e.g. "1234", not a number or true/false')
    text = value.strip()
    if not BIB.match(text):
        raise _RowProblem("bib", "a bib is 1-16 letters, digits or '-', starting with one of those")
    return text


def _text(row: Mapping[str, Any], column: str, *, required: bool = False) -> str | None:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _RowProblem(column, f"every row needs a {column}")
        return None
    if not isinstance(value, str):
        raise _RowProblem(column, f"{column} must be text")
    text = " ".join(value.split())
    if len(text) > MAX_TEXT or any(ord(c) < 32 for c in text):
        raise _RowProblem(column, f"{column} must be at most {MAX_TEXT} printable characters")
    return text


def _duration(row: Mapping[str, Any], column: str) -> int | None:
    value = row.get(column)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _RowProblem(
            column, f"{column} must be a time like 3:12:45 or seconds, not true/false"
        )
    if isinstance(value, int | float):
        if not 0 <= value < 100 * 3600:
            raise _RowProblem(column, f"{column} must be between 0 and 100 hours")
        return round(value * 1000)
    match = _CLOCK.match(str(value).strip())
    if not match:
        raise _RowProblem(column, f"{column} must look like 3:12:45, 3:12:45.3 or 45:07")
    hours, minutes, seconds, fraction = match.groups()
    millis = int((fraction or "0").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis


def _instant(row: Mapping[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _RowProblem(column, f"{column} must be text, e.g. 2026-11-15T11:42:07+09:00")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _RowProblem(
            column, f"{column} must be an ISO 8601 time, e.g. 2026-11-15T11:42:07+09:00"
        ) from None
    if moment.tzinfo is None:
        raise _RowProblem(column, f"{column} needs its UTC offset, e.g. +09:00")
    return moment.isoformat()


def _normal(name: str) -> str:
    return name.strip().lower().replace(" ", "_")
