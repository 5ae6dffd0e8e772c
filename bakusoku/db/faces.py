"""The face repository: the faces of each photo, scoped to a service and an album.

This module is the only writer of the ``faces`` table. Every read and write names the service and
album it may touch, so no query can reach another tenant's faces. Both face-index backends keep
their face ↔ photo mapping here (the embedded one its vectors too), so listing, consent and erasure
work the same whichever backend matches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from bakusoku.db.retry import run_with_retry
from bakusoku.db.schema import faces, photos

T = TypeVar("T")


@dataclass(frozen=True)
class FaceRow:
    """One recorded face; ``vector`` is the embedded backend's float32 bytes, else None."""

    face_id: str
    photo_id: str
    box: tuple[float, float, float, float]
    embedded: bool
    vector: bytes | None = None
    backend_face_id: str | None = None
    suppressed: bool = False


def _row(row: sa.Row[Any]) -> FaceRow:
    return FaceRow(
        face_id=row.face_id,
        photo_id=row.photo_id,
        box=tuple(float(v) for v in row.box),  # type: ignore[arg-type]
        embedded=bool(row.embedded),
        vector=bytes(row.vector) if row.vector is not None else None,
        backend_face_id=row.backend_face_id,
        suppressed=bool(row.suppressed),
    )


def _scope(service: str, album: str) -> sa.ColumnElement[bool]:
    return sa.and_(faces.c.service == service, faces.c.album == album)


def unpublishable_photos(service: str, album: str) -> sa.Select[tuple[str]]:
    """The ids of the album's photos with a face staff marked "do not publish"."""
    return (
        sa.select(faces.c.photo_id)
        .where(_scope(service, album))
        .where(faces.c.suppressed == sa.true())
        .distinct()
    )


def publishable_clause(service: str, album: str) -> sa.ColumnElement[bool]:
    """A condition on ``photos`` that keeps only photos with no face marked "do not publish".

    Add it to any query of an album's photos meant for parents (galleries, search results)::

        select(photos).where(photos.c.album == album, publishable_clause(service, album))
    """
    return photos.c.photo_id.not_in(unpublishable_photos(service, album))


class FaceRepository:
    """Reads and writes face rows; each call is one short transaction, retried like the photos'."""

    def __init__(self, engine: sa.Engine, *, retry_seconds: float = 5.0) -> None:
        self._engine = engine
        self._retry_seconds = retry_seconds

    def _retry(self, work: Callable[[], T]) -> T:
        return run_with_retry(work, budget=self._retry_seconds)

    def replace_photo_faces(
        self, service: str, album: str, photo_id: str, rows: Sequence[FaceRow]
    ) -> None:
        """Make ``rows`` the faces of the photo (a retried step writes the same photo again)."""
        now = time.time()

        def work() -> None:
            with self._engine.begin() as conn:
                conn.execute(faces.delete().where(faces.c.photo_id == photo_id))
                if rows:
                    conn.execute(
                        faces.insert(),
                        [
                            {
                                "face_id": row.face_id,
                                "service": service,
                                "album": album,
                                "photo_id": photo_id,
                                "box": [round(v, 1) for v in row.box],
                                "embedded": row.embedded,
                                "vector": row.vector,
                                "backend_face_id": row.backend_face_id,
                                "suppressed": row.suppressed,
                                "created_at": now,
                            }
                            for row in rows
                        ],
                    )

        self._retry(work)

    def album_faces(
        self, service: str, album: str, *, embedded_only: bool = False
    ) -> list[FaceRow]:
        """Every face of the album (ix_faces_album), in a stable order."""
        query = sa.select(faces).where(_scope(service, album))
        if embedded_only:
            query = query.where(faces.c.embedded == sa.true())
        return self._select(query.order_by(faces.c.photo_id, faces.c.face_id))

    def album_stamp(self, service: str, album: str) -> tuple[int, float, float]:
        """Changes whenever the album's faces do (a face added, replaced or removed): a reader
        that keeps the album's vectors compares it before using them."""
        query = sa.select(
            sa.func.count(), sa.func.max(faces.c.created_at), sa.func.sum(faces.c.created_at)
        ).where(_scope(service, album))

        def work() -> tuple[int, float, float]:
            with self._engine.connect() as conn:
                count, newest, total = conn.execute(query).one()
            return int(count), float(newest or 0), float(total or 0)

        return self._retry(work)

    def album_vectors(self, service: str, album: str) -> list[tuple[str, str, bytes]]:
        """``(face_id, photo_id, vector)`` of the album's embedded faces: what a search reads."""
        query = (
            sa.select(faces.c.face_id, faces.c.photo_id, faces.c.vector)
            .where(_scope(service, album), faces.c.embedded == sa.true())
            .where(faces.c.vector.is_not(None))
            .order_by(faces.c.face_id)
        )

        def work() -> list[tuple[str, str, bytes]]:
            with self._engine.connect() as conn:
                return [(r[0], r[1], bytes(r[2])) for r in conn.execute(query)]

        return self._retry(work)

    def photo_faces(self, service: str, album: str, photo_id: str) -> list[FaceRow]:
        query = sa.select(faces).where(_scope(service, album), faces.c.photo_id == photo_id)
        return self._select(query.order_by(faces.c.face_id))

    def find(self, service: str, album: str, face_ids: Iterable[str]) -> list[FaceRow]:
        """The faces of this album among ``face_ids``; ids of other albums are simply absent."""
        ids = list(dict.fromkeys(face_ids))
        if not ids:
            return []
        query = sa.select(faces).where(_scope(service, album), faces.c.face_id.in_(ids))
        return self._select(query.order_by(faces.c.face_id))

    def by_backend_ids(
        self, service: str, album: str, backend_face_ids: Iterable[str]
    ) -> list[FaceRow]:
        """The faces of this album a backend (Rekognition) knows by these ids; others are absent."""
        ids = list(dict.fromkeys(backend_face_ids))
        if not ids:
            return []
        query = sa.select(faces).where(_scope(service, album), faces.c.backend_face_id.in_(ids))
        return self._select(query.order_by(faces.c.face_id))

    def unpublishable_photo_ids(self, service: str, album: str) -> set[str]:
        def work() -> set[str]:
            with self._engine.connect() as conn:
                return {str(r[0]) for r in conn.execute(unpublishable_photos(service, album))}

        return self._retry(work)

    def set_suppressed(
        self, service: str, album: str, face_ids: Iterable[str], suppressed: bool
    ) -> int:
        """Mark faces "do not publish" (or publishable again); the number of faces changed."""
        ids = list(dict.fromkeys(face_ids))
        if not ids:
            return 0

        def work() -> int:
            with self._engine.begin() as conn:
                result = conn.execute(
                    faces.update()
                    .where(_scope(service, album), faces.c.face_id.in_(ids))
                    .values(suppressed=suppressed)
                )
            return int(result.rowcount)

        return self._retry(work)

    def delete_faces(self, service: str, album: str, face_ids: Iterable[str]) -> list[FaceRow]:
        """Remove these faces of the album; answers the rows removed."""
        return self._delete(_scope(service, album), faces.c.face_id.in_(list(face_ids)))

    def delete_photo_faces(self, service: str, album: str, photo_id: str) -> list[FaceRow]:
        return self._delete(_scope(service, album), faces.c.photo_id == photo_id)

    def delete_album(self, service: str, album: str) -> list[FaceRow]:
        return self._delete(_scope(service, album))

    def albums(self) -> list[tuple[str, str]]:
        """Every ``(service, album)`` that has faces (for retention)."""

        def work() -> list[tuple[str, str]]:
            with self._engine.connect() as conn:
                rows = conn.execute(sa.select(faces.c.service, faces.c.album).distinct())
                return sorted((str(r[0]), str(r[1])) for r in rows)

        return self._retry(work)

    def _select(self, query: sa.Select[Any]) -> list[FaceRow]:
        def work() -> list[FaceRow]:
            with self._engine.connect() as conn:
                return [_row(r) for r in conn.execute(query)]

        return self._retry(work)

    def _delete(self, *where: sa.ColumnElement[bool]) -> list[FaceRow]:
        def work() -> list[FaceRow]:
            with self._engine.begin() as conn:
                rows = [_row(r) for r in conn.execute(sa.select(faces).where(*where))]
                if rows:
                    conn.execute(faces.delete().where(*where))
            return rows

        return self._retry(work)
