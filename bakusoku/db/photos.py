"""The photo repository: one row per uploaded photo, whose status moves only as its rules allow.

This module is the only writer of the ``photos`` table. Every status change is one of the named
:class:`Transition` rules below, applied by a single conditional UPDATE, so two writers racing
on a photo cannot move it anywhere a rule does not lead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict, TypeVar, Unpack

import sqlalchemy as sa

from bakusoku.db.retry import run_with_retry
from bakusoku.db.schema import photos
from bakusoku.errors import BakusokuError

PENDING, PROCESSING, READY, FAILED = "pending", "processing", "ready", "failed"
# duplicate: the same bytes (sha256) as an earlier photo of the same service and album (the same
# key folder); never processed.
DUPLICATE = "duplicate"
STATUSES = (PENDING, PROCESSING, READY, FAILED, DUPLICATE)
SEQUENCER_WIDTH = 32

T = TypeVar("T")


@dataclass(frozen=True)
class Transition:
    """A status change a photo may make: to ``to``, from any of ``allowed_from``."""

    name: str
    to: str
    allowed_from: tuple[str, ...]


# Every status change there is. Forward only, with two ways back from a failure: a photo is
# processed again when its upload is delivered again or its execution is re-driven, and a
# re-drive that could not start its execution puts the failure back as it was.
RECEIVE = Transition("receive", PROCESSING, (PENDING, PROCESSING, FAILED))
MARK_READY = Transition("mark ready", READY, (PROCESSING,))
MARK_FAILED = Transition("mark failed", FAILED, (PENDING, PROCESSING))
MARK_DUPLICATE = Transition("mark duplicate", DUPLICATE, (PENDING, PROCESSING))
REDRIVE = Transition("re-drive", PROCESSING, (FAILED,))
UNDO_REDRIVE = Transition("undo re-drive", FAILED, (PROCESSING,))
TRANSITIONS = (RECEIVE, MARK_READY, MARK_FAILED, MARK_DUPLICATE, REDRIVE, UNDO_REDRIVE)


class PhotoNotFoundError(BakusokuError):
    """Raised when no photo has the given id."""

    code = "photo.not_found"


class InvalidCursorError(BakusokuError):
    """Raised when a list cursor was not produced by this API (or was altered)."""

    code = "request.invalid_cursor"


@dataclass(frozen=True)
class Page:
    """One page of a listing and the cursor of the next page (None when this is the last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Failure:
    """Why a photo failed, and in which execution (what a re-drive replaces, and may put back)."""

    execution_name: str | None
    error_code: str | None
    error_message: str | None


class StoredObject(TypedDict):
    """What :meth:`PhotoRepository.record_received` records of a stored object."""

    photo_id: str
    album: str
    bucket: str
    object_key: str
    etag: str
    byte_size: int
    sha256: str
    content_type: str | None
    execution_name: str | None
    sequencer: NotRequired[str | None]


@dataclass(frozen=True)
class Received:
    """A received photo's row as stored, and the photo it repeats, if one was looked for."""

    photo: dict[str, Any]
    original: dict[str, Any] | None


def _row_dict(row: sa.Row[Any]) -> dict[str, Any]:
    return dict(row._mapping)


def normalize_sequencer(sequencer: str | None) -> str | None:
    """An S3 ``sequencer`` (hex) padded to a fixed width, so that later events sort higher."""
    if not sequencer:
        return None
    return sequencer.strip().upper().rjust(SEQUENCER_WIDTH, "0")[-SEQUENCER_WIDTH:]


class PhotoRepository:
    """Reads and writes photo rows on any of the supported databases.

    Every operation is one short transaction, retried through deadlocks and, for up to
    ``retry_seconds``, through a lost database; then it raises DatabaseUnavailableError.
    """

    def __init__(self, engine: sa.Engine, *, retry_seconds: float = 5.0) -> None:
        self._engine = engine
        self._retry_seconds = retry_seconds

    def _retry(self, work: Callable[[], T]) -> T:
        return run_with_retry(work, budget=self._retry_seconds)

    def create_pending(
        self,
        *,
        photo_id: str,
        album: str,
        bucket: str,
        object_key: str,
        filename: str | None,
        content_type: str | None,
        declared_size: int | None,
    ) -> None:
        """Record a photo whose upload was just presigned; its bytes have not arrived yet."""
        now = time.time()
        row = {
            "photo_id": photo_id,
            "album": album,
            "bucket": bucket,
            "object_key": object_key,
            "filename": filename,
            "content_type": content_type,
            "declared_size": declared_size,
            "status": PENDING,
            "created_at": now,
            "updated_at": now,
        }

        def work() -> None:
            with self._engine.begin() as conn:
                conn.execute(photos.insert().values(**row))

        self._retry(work)

    def record_received(self, **stored: Unpack[StoredObject]) -> dict[str, Any]:
        """Upsert the row of a stored object and move it to ``processing``; safe to run twice.

        Keyed on (bucket, key) with the object's ETag: a repeated event changes nothing, and an
        event older (by S3 ``sequencer``) than the one already applied leaves the row alone.
        """
        return self.receive(**stored).photo

    def receive(
        self,
        *,
        photo_id: str,
        album: str,
        bucket: str,
        object_key: str,
        etag: str,
        byte_size: int,
        sha256: str,
        content_type: str | None,
        execution_name: str | None,
        sequencer: str | None = None,
        details: Mapping[str, Any] | None = None,
        look_for_original: bool = False,
    ) -> Received:
        """:meth:`record_received` with the image's ``details`` written in the same statement, and
        the row read back (and, if asked, its :meth:`find_original`) in the same transaction.

        One round trip of work per upload instead of four, which is what a burst spends its
        database time on.
        """
        values = {
            **(details or {}),
            "etag": etag,
            "byte_size": byte_size,
            "sha256": sha256,
            "execution_name": execution_name,
            "sequencer": normalize_sequencer(sequencer),
            "updated_at": time.time(),
        }
        return self._retry(
            lambda: self._receive(
                photo_id=photo_id,
                album=album,
                bucket=bucket,
                object_key=object_key,
                content_type=content_type,
                values=values,
                look_for_original=look_for_original,
            )
        )

    def _receive(
        self,
        *,
        photo_id: str,
        album: str,
        bucket: str,
        object_key: str,
        content_type: str | None,
        values: dict[str, Any],
        look_for_original: bool,
    ) -> Received:
        now = values["updated_at"]
        with self._engine.begin() as conn:
            existing = conn.execute(
                sa.select(photos.c.photo_id).where(photos.c.photo_id == photo_id)
            ).first()
            if existing is None:
                # a concurrent delivery may insert it first; the update below applies either way
                # (a savepoint, so PostgreSQL's transaction survives the duplicate-key error)
                with contextlib.suppress(sa.exc.IntegrityError), conn.begin_nested():
                    conn.execute(
                        photos.insert().values(
                            photo_id=photo_id,
                            album=album,
                            bucket=bucket,
                            object_key=object_key,
                            content_type=content_type,
                            status=RECEIVE.to,
                            created_at=now,
                            **values,
                        )
                    )
            not_older = []
            if values["sequencer"] is not None:  # never apply an older event over a newer one
                not_older.append(
                    sa.or_(photos.c.sequencer.is_(None), photos.c.sequencer <= values["sequencer"])
                )
            fields = {"error_code": None, "error_message": None, **values}
            _apply(conn, photo_id, RECEIVE, fields, *not_older)
            row = conn.execute(sa.select(photos).where(photos.c.photo_id == photo_id)).first()
            if row is None:
                raise PhotoNotFoundError(f"no photo has the id {photo_id!r}")
            photo = _row_dict(row)
            original = _original_of(conn, photo) if look_for_original else None
        return Received(photo, original)

    def mark_ready(self, photo_id: str, fields: Mapping[str, Any]) -> bool:
        """Move a processing photo to ``ready`` with its renditions; False if it was not processing."""
        return self._transition(photo_id, MARK_READY, dict(fields))

    def mark_failed(self, photo_id: str, code: str, message: str) -> bool:
        """Move a photo to ``failed`` with an error code and a reason a person can act on."""
        fields = {"error_code": code, "error_message": message, "renditions": None}
        return self._transition(photo_id, MARK_FAILED, fields)

    def redrive_failed(self, photo_id: str, execution_name: str) -> Failure | None:
        """Move a failed photo back to ``processing`` for the re-drive ``execution_name``.

        Returns the failure it replaced (for :meth:`undo_redrive`), or None when the photo was
        not failed: a concurrent re-drive moved it first, or it is gone.
        """

        def work() -> Failure | None:
            with self._engine.begin() as conn:
                row = conn.execute(
                    sa.select(
                        photos.c.execution_name, photos.c.error_code, photos.c.error_message
                    ).where(photos.c.photo_id == photo_id, photos.c.status == FAILED)
                ).first()
                if row is None:
                    return None
                fields = {
                    "execution_name": execution_name,
                    "error_code": None,
                    "error_message": None,
                }
                if not _apply(conn, photo_id, REDRIVE, fields):
                    return None
            return Failure(row.execution_name, row.error_code, row.error_message)

        return self._retry(work)

    def undo_redrive(self, photo_id: str, execution_name: str, failure: Failure) -> bool:
        """Put ``failure`` back on a photo whose re-drive ``execution_name`` could not start.

        Only while the photo is still processing for that very execution; False otherwise.
        """
        fields = {
            "execution_name": failure.execution_name,
            "error_code": failure.error_code,
            "error_message": failure.error_message,
        }
        return self._transition(
            photo_id, UNDO_REDRIVE, fields, photos.c.execution_name == execution_name
        )

    def _transition(
        self,
        photo_id: str,
        transition: Transition,
        fields: dict[str, Any],
        *conditions: sa.ColumnElement[bool],
    ) -> bool:
        def work() -> bool:
            with self._engine.begin() as conn:
                return _apply(conn, photo_id, transition, fields, *conditions)

        return self._retry(work)

    def record_trace_parent(self, photo_id: str, trace_parent: str) -> None:
        """Remember the W3C ``traceparent`` of the photo's upload, so its execution joins that trace."""

        def work() -> None:
            with self._engine.begin() as conn:
                conn.execute(
                    photos.update()
                    .where(photos.c.photo_id == photo_id)
                    .values(trace_parent=trace_parent)
                )

        self._retry(work)

    def record_details(self, photo_id: str, fields: Mapping[str, Any]) -> None:
        """Store what was read from the photo's bytes (format, EXIF facts) without a status change."""
        with self._engine.begin() as conn:
            conn.execute(
                photos.update()
                .where(photos.c.photo_id == photo_id)
                .values(updated_at=time.time(), **fields)
            )

    def record_face_index(self, photo_id: str, state: str, error: str | None = None) -> None:
        """Record how the photo's faces were indexed (``indexed``, ``unindexed`` with the reason,
        ``off``); no status change: a photo whose faces could not be indexed is ready all the same.
        """

        def work() -> None:
            with self._engine.begin() as conn:
                conn.execute(
                    photos.update()
                    .where(photos.c.photo_id == photo_id)
                    .values(face_index=state, face_index_error=error, updated_at=time.time())
                )

        self._retry(work)

    def find_original(self, photo_id: str) -> dict[str, Any] | None:
        """The photo that ``photo_id`` repeats: same bucket, key folder (service and album) and
        sha256, and ready, or received and presigned before it. ``None`` if it is the first (then
        it is processed as usual).

        Two uploads of the same bytes that are processed at once agree: the later one (by
        presign time, then id) is the duplicate, whichever finished its upload first.
        """
        with self._engine.connect() as conn:
            me = conn.execute(
                sa.select(
                    photos.c.photo_id,
                    photos.c.album,
                    photos.c.bucket,
                    photos.c.object_key,
                    photos.c.sha256,
                    photos.c.created_at,
                ).where(photos.c.photo_id == photo_id)
            ).first()
            return _original_of(conn, dict(me._mapping)) if me is not None else None

    def mark_duplicate(self, photo_id: str, original_id: str) -> bool:
        """Give the photo status ``duplicate``, pointing at the photo it repeats."""
        fields = {"duplicate_of": original_id, "renditions": None}
        return self._transition(photo_id, MARK_DUPLICATE, fields)

    def duplicates_of(self, photo: Mapping[str, Any]) -> list[str]:
        """The ids of the photos of ``photo``'s own key folder (its service and album) marked as
        duplicates of it (they show its renditions), oldest first."""
        if not photo.get("sha256"):
            return []

        def work() -> list[str]:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.select(photos.c.photo_id, photos.c.object_key)
                    .where(photos.c.sha256 == photo["sha256"])  # ix_photos_sha256
                    .where(photos.c.duplicate_of == photo["photo_id"])
                    .where(_same_folder(photo))
                    .order_by(photos.c.created_at, photos.c.photo_id)
                )
                return [
                    str(row.photo_id)
                    for row in rows
                    if key_folder(row.object_key) == key_folder(photo["object_key"])
                ]

        return self._retry(work)

    def delete(self, photo_id: str, status: str) -> bool:
        """Remove the photo's row if its status is still ``status``; False if it moved on (or is
        gone). Nothing of it stays: not its metadata, nor its sha256 for duplicate lookups.
        """

        def work() -> bool:
            with self._engine.begin() as conn:
                result = conn.execute(
                    photos.delete()
                    .where(photos.c.photo_id == photo_id)
                    .where(photos.c.status == status)
                )
            return bool(result.rowcount)

        return self._retry(work)

    def find(self, photo_id: str) -> dict[str, Any] | None:
        def work() -> dict[str, Any] | None:
            with self._engine.connect() as conn:
                row = conn.execute(sa.select(photos).where(photos.c.photo_id == photo_id)).first()
            return _row_dict(row) if row else None

        return self._retry(work)

    def get(self, photo_id: str) -> dict[str, Any]:
        photo = self.find(photo_id)
        if photo is None:
            raise PhotoNotFoundError(f"no photo has the id {photo_id!r}")
        return photo

    def list(
        self,
        *,
        album: str | None = None,
        statuses: Sequence[str] = (),
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        """Photos newest first, ``limit`` at a time; pass the returned cursor to get the next page."""
        query = sa.select(photos)
        if album:
            query = query.where(photos.c.album == album)
        query = page_query(query, statuses=statuses, cursor=cursor, limit=limit)

        def work() -> list[dict[str, Any]]:
            with self._engine.connect() as conn:
                return [_row_dict(r) for r in conn.execute(query)]

        return page_of(self._retry(work), limit)

    def count_by_status(self, photo_ids: Sequence[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(photo_ids), 500):
                chunk = list(photo_ids[start : start + 500])
                query = (
                    sa.select(photos.c.status, sa.func.count())
                    .where(photos.c.photo_id.in_(chunk))
                    .group_by(photos.c.status)
                )
                for status, count in conn.execute(query):
                    counts[status] = counts.get(status, 0) + count
        return counts


def _apply(
    conn: sa.Connection,
    photo_id: str,
    transition: Transition,
    fields: Mapping[str, Any],
    *conditions: sa.ColumnElement[bool],
) -> bool:
    """Make ``transition`` (and write ``fields``) if the photo's status allows it and every one of
    ``conditions`` holds; False if it does not (or no such photo)."""
    values = {"updated_at": time.time(), **fields, "status": transition.to}
    result = conn.execute(
        photos.update()
        .where(photos.c.photo_id == photo_id)
        .where(photos.c.status.in_(transition.allowed_from))
        .where(*conditions)
        .values(**values)
    )
    return bool(result.rowcount)


def key_folder(object_key: str) -> str:
    """The folder of an object key, ``/`` included: for the API's upload keys
    (``{upload_prefix}{service}/{album}/{photo_id}.{ext}``) the tenant the photo belongs to.

    Facts derived from several photos (which photo another repeats) only ever relate photos of
    one folder, so they never cross a service or an album.
    """
    return object_key.rsplit("/", 1)[0] + "/" if "/" in object_key else ""


def _same_folder(photo: Mapping[str, Any]) -> sa.ColumnElement[bool]:
    """Rows of ``photo``'s bucket whose key starts with its key folder (a subfolder's keys too:
    callers compare :func:`key_folder` exactly on what this returns)."""
    return sa.and_(
        photos.c.bucket == photo["bucket"],
        photos.c.object_key.startswith(key_folder(photo["object_key"]), autoescape=True),
    )


def _original_of(conn: sa.Connection, photo: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first photo of ``photo``'s key folder with the same bytes (see ``find_original``)."""
    if not photo.get("sha256"):
        return None
    earlier = sa.or_(
        photos.c.created_at < photo["created_at"],
        sa.and_(photos.c.created_at == photo["created_at"], photos.c.photo_id < photo["photo_id"]),
    )
    rows = conn.execute(
        sa.select(photos)
        .where(photos.c.album == photo["album"])
        .where(photos.c.sha256 == photo["sha256"])
        .where(_same_folder(photo))
        .where(photos.c.photo_id != photo["photo_id"])
        .where(
            sa.or_(
                photos.c.status == READY,
                sa.and_(photos.c.status == PROCESSING, earlier),
            )
        )
        .order_by(photos.c.created_at, photos.c.photo_id)
    )
    folder = key_folder(photo["object_key"])
    for row in rows:
        if key_folder(row.object_key) == folder:
            return _row_dict(row)
    return None


def page_query(
    query: sa.Select[Any], *, statuses: Sequence[str], cursor: str | None, limit: int
) -> sa.Select[Any]:
    """``query`` (of ``photos``) newest first: the rows after ``cursor`` in ``statuses``.

    One row more than ``limit`` is asked for, so that :func:`page_of` knows whether a next page
    exists without counting.
    """
    query = query.order_by(photos.c.created_at.desc(), photos.c.photo_id.desc())
    if statuses:
        query = query.where(photos.c.status.in_(list(statuses)))
    if cursor:
        created_at, photo_id = decode_cursor(cursor)
        query = query.where(
            sa.or_(
                photos.c.created_at < created_at,
                sa.and_(photos.c.created_at == created_at, photos.c.photo_id < photo_id),
            )
        )
    return query.limit(limit + 1)


def page_of(rows: list[dict[str, Any]], limit: int) -> Page:
    """The page of the rows a :func:`page_query` returned, with the cursor of the next one."""
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]["created_at"], rows[-1]["photo_id"]))


def encode_cursor(created_at: float, photo_id: str) -> str:
    raw = json.dumps([created_at, photo_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, photo_id = json.loads(base64.urlsafe_b64decode(padded))
        return float(created_at), str(photo_id)
    except (ValueError, TypeError) as exc:
        # the cursor is not repeated: a client may have passed something else (a key) in its place
        raise InvalidCursorError(
            "cursor is not valid: pass the next_cursor of a previous page unchanged"
        ) from exc
