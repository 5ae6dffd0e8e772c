"""Executions searched and counted with ListExecutions, for the API's operations on AWS.

ListExecutions returns one state machine's executions newest first, optionally of one status,
with name, status, start and stop dates and re-drive count; nothing of their input or error. So
a search reads pages until it passes ``since`` (or has ``limit`` rows), takes photo and album from
the photo rows that record each execution's name, and describes only the failed executions it
returns (for their error and cause). Filters that need every execution's history (``state``,
``failed_state``) or input (``album``) are not served: ListExecutions cannot filter by them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import photos
from bakusoku.domain.catalogue import failure_code
from bakusoku.ops.history import ExecutionQuery
from bakusoku.workflow.model import MAX_PAGE_SIZE

# Listing reads at most this many executions for one search or report: a request of the API
# function must end well within API Gateway's 30 seconds.
MAX_LISTED = 5000
# A search describes at most this many failed executions (for their error and cause): Step
# Functions' DescribeExecution quota and the request's time bound it. Past it, a failed row's
# error code is its photo's, when the photo still names that execution.
MAX_DESCRIBED = 100
CHUNK = 100
FAILED = ("FAILED", "TIMED_OUT", "ABORTED")
_REDRIVE_SUFFIX = re.compile(r"-redrive-\d+$")

Listed = dict[str, Any]  # one item of ListExecutions' "executions"


def listed_executions(
    client: Any, state_machine_arn: str, status: str | None, started_after: float | None
) -> Iterator[Listed]:
    """The executions (of ``status``), newest first, until one started before ``started_after``."""
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": MAX_PAGE_SIZE}
    if status:
        kwargs["statusFilter"] = status
    read = 0
    while True:
        page = client.list_executions(**kwargs)
        for item in page["executions"]:
            if started_after is not None and _epoch(item["startDate"]) < started_after:
                return
            read += 1
            if read > MAX_LISTED:
                return
            yield item
        token = page.get("nextToken")
        if not token:
            return
        kwargs["nextToken"] = token


def newest_first(
    client: Any, state_machine_arn: str, statuses: tuple[str, ...], since: float | None
) -> list[Listed]:
    """The executions of any of ``statuses`` (all when empty) started since ``since``."""
    found: list[Listed] = []
    for status in statuses or (None,):
        found.extend(listed_executions(client, state_machine_arn, status, since))
    found.sort(key=lambda item: _epoch(item["startDate"]), reverse=True)
    return found


def search_rows(
    client: Any, db: sa.Engine, state_machine_arn: str, query: ExecutionQuery
) -> list[dict[str, Any]]:
    """Search rows (as the embedded history's) for ``query``'s status, time and error filters."""
    listed = [
        item
        for item in newest_first(client, state_machine_arn, query.statuses, query.since)
        if _before(item, query.until) and _before(item, query.before)
    ]
    rows: list[dict[str, Any]] = []
    described = 0
    for start in range(0, len(listed), CHUNK):
        chunk = []
        for item in listed[start : start + CHUNK]:
            found = None
            if item["status"] in FAILED and described < MAX_DESCRIBED:
                found = client.describe_execution(executionArn=item["executionArn"])
                described += 1
            chunk.append(summary_row(item, found))
        for row in with_photos(db, chunk):
            if query.error_code and query.error_code not in (row["error_code"], row["error"]):
                continue
            rows.append(row)
            if len(rows) == query.limit:
                return rows
    return rows


def _before(item: Listed, bound: float | None) -> bool:
    return bound is None or _epoch(item["startDate"]) < bound


def summary_row(item: Listed, described: dict[str, Any] | None) -> dict[str, Any]:
    """A search row from a ListExecutions item (and, for error and cause, its description)."""
    started = _epoch(item["startDate"])
    stopped = _epoch(item["stopDate"]) if item.get("stopDate") else None
    error = (described or {}).get("error")
    return {
        "name": item["name"],
        "state_machine": item["stateMachineArn"].rsplit(":", 1)[-1],
        "status": item["status"],
        "photo_id": None,
        "album": None,
        "error_code": failure_code(error),
        "failed_state": None,
        "error": error,
        "cause": ((described or {}).get("cause") or "")[:500] or None,
        "started_at": started,
        "stopped_at": stopped,
        "duration_seconds": None if stopped is None else round(stopped - started, 3),
        "redrive_count": int(item.get("redriveCount", 0)),
    }


def with_photos(db: sa.Engine, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with the photo and album of the photo rows that name their executions.

    A photo row names its latest execution; a failed execution reprocessed as
    ``{name}-redrive-{n}`` is its photo's through that name. A failed row not described gets the
    error code of the failed photo that names it.
    """
    names = sorted({_base(row["name"]) for row in rows} | {row["name"] for row in rows})
    found: dict[str, tuple[str, str]] = {}
    codes: dict[str, str] = {}
    with db.connect() as conn:
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            redrives = [photos.c.execution_name.like(f"{_like(n)}-redrive-%", "\\") for n in chunk]
            selected = sa.select(
                photos.c.photo_id,
                photos.c.album,
                photos.c.execution_name,
                photos.c.status,
                photos.c.error_code,
            ).where(sa.or_(photos.c.execution_name.in_(chunk), *redrives))
            for photo_id, album, execution, status, code in conn.execute(selected):
                found[execution] = (photo_id, album)
                found.setdefault(_base(execution), (photo_id, album))
                if status == "failed" and code:
                    codes[execution] = code
    for row in rows:
        photo = found.get(row["name"]) or found.get(_base(row["name"]))
        if photo is not None:
            row["photo_id"], row["album"] = photo
        if row["error_code"] is None and row["status"] in FAILED:
            row["error_code"] = codes.get(row["name"])
    return rows


def first_execution_of(db: sa.Engine, photo_id: str) -> str | None:
    """The first execution of photo ``photo_id`` (its re-drives are named after it), if any."""
    with db.connect() as conn:
        name = conn.execute(
            sa.select(photos.c.execution_name).where(photos.c.photo_id == photo_id)
        ).scalar_one_or_none()
    return _base(name) if name else None


def count_ended(
    client: Any, state_machine_arn: str, statuses: tuple[str, ...], stopped_after: float
) -> dict[str, int]:
    """Executions of each status that stopped after ``stopped_after``.

    ListExecutions orders by start, so reading stops at executions started a day before the
    window: Standard executions of this pipeline end within minutes.
    """
    counts: dict[str, int] = {}
    for status in statuses:
        for item in listed_executions(client, state_machine_arn, status, stopped_after - 86400):
            if item.get("stopDate") and _epoch(item["stopDate"]) >= stopped_after:
                counts[status] = counts.get(status, 0) + 1
    return counts


def _base(name: str) -> str:
    return _REDRIVE_SUFFIX.sub("", name) or name


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _epoch(value: datetime | float) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)
