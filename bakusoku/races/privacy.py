"""Runners' privacy: asking for one's face to be hidden, and for one's photos to be erased.

``face``: the runner's face is hidden from other runners: in each photo of the bib, the face
just above the bib's number is theirs (:func:`runner_face`); the caller marks those faces "do not
publish" with the faces package (with the face index on, every face of the album that matches
them too), so photos showing them leave every other runner's gallery and parents' galleries
alike (``db.faces.unpublishable_photos``). The request keeps the faces it found. ``erase``: every
sighting of the bib is forgotten, so no gallery, message or search by bib finds those photos
again, and later sightings are not shown; the request keeps the photos it took away, which is
what makes it verifiable. Both are written once (asking again changes nothing) and audited by
the caller in the audit log.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from bakusoku.db.faces import FaceRepository, unpublishable_photos
from bakusoku.db.schema import runner_erasure_requests
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef

Box = tuple[float, float, float, float]  # left, top, right, bottom in the photo's pixels

FACE = "face"
ERASE = "erase"
KINDS = (FACE, ERASE)


class RunnerPrivacy:
    """The only writer of ``runner_erasure_requests``."""

    def __init__(self, db: sa.Engine) -> None:
        self._db = db

    def request(
        self, race: RaceRef, bib: str, kind: str, *, found: list[str] | None = None
    ) -> dict[str, Any]:
        """Record (once) and carry out a runner's request; returns it as stored. ``found``: for
        ``face``, the faces the caller marked "do not publish"."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        now = time.time()
        if self._get(race, bib, kind) is None:
            try:
                with self._db.begin() as conn:
                    conn.execute(
                        runner_erasure_requests.insert().values(
                            service=race.service,
                            album=race.album,
                            bib=bib,
                            kind=kind,
                            requested_at=now,
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # asked twice at once: one request
        if kind == ERASE:
            self._erase(race, bib)
        else:
            before = (self._get(race, bib, FACE) or {}).get("photos") or []
            self._finish(race, bib, kind, sorted(set(before) | set(found or [])))
        stored = self._get(race, bib, kind)
        assert stored is not None  # just written
        return stored

    def _erase(self, race: RaceRef, bib: str) -> None:
        taken = PhotoBibs(self._db).forget_bib(race, bib)
        before = (self._get(race, bib, ERASE) or {}).get("photos") or []
        self._finish(race, bib, ERASE, sorted(set(before) | set(taken)))

    def _finish(self, race: RaceRef, bib: str, kind: str, photos: list[str] | None) -> None:
        with self._db.begin() as conn:
            conn.execute(
                runner_erasure_requests.update()
                .where(*_key(race, bib, kind))
                .values(done_at=time.time(), photos=photos)
            )

    def requested(self, race: RaceRef, bib: str) -> dict[str, dict[str, Any]]:
        """The runner's requests by kind."""
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(runner_erasure_requests).where(
                    runner_erasure_requests.c.service == race.service,
                    runner_erasure_requests.c.album == race.album,
                    runner_erasure_requests.c.bib == bib,
                )
            ).mappings()
            return {r["kind"]: dict(r) for r in rows}

    def runner_faces(self, race: RaceRef, bib: str, min_confidence: float) -> list[str]:
        """The runner's face in each photo where their bib was read with a box."""
        bibs, faces = PhotoBibs(self._db), FaceRepository(self._db)
        found = []
        for photo_id in bibs.photos_of(race, bib, min_confidence):
            sighting = next((b for b in bibs.bibs_of(race, photo_id) if b.bib == bib), None)
            rows = faces.photo_faces(race.service, race.album, photo_id)
            face = runner_face(sighting, [(r.face_id, r.box) for r in rows])
            if face is not None:
                found.append(face)
        return found

    def unpublishable(self, race: RaceRef) -> set[str]:
        """Photos of the race with a face marked "do not publish" (by staff or by a runner)."""
        with self._db.connect() as conn:
            rows = conn.execute(unpublishable_photos(race.service, race.album)).all()
        return {str(r[0]) for r in rows}

    def _get(self, race: RaceRef, bib: str, kind: str) -> dict[str, Any] | None:
        with self._db.connect() as conn:
            row = (
                conn.execute(sa.select(runner_erasure_requests).where(*_key(race, bib, kind)))
                .mappings()
                .first()
            )
        return None if row is None else dict(row)


def _key(race: RaceRef, bib: str, kind: str) -> tuple[sa.ColumnElement[bool], ...]:
    t = runner_erasure_requests.c
    return (t.service == race.service, t.album == race.album, t.bib == bib, t.kind == kind)


def runner_face(sighting: BibSighting | None, faces: list[tuple[str, Box]]) -> str | None:
    """The face that wears the bib: above the number, its centre over the number's width (with
    a number's width either side for a turned body), the nearest such face; None if none is."""
    if sighting is None or sighting.box is None:
        return None
    left, top, right, _ = (float(v) for v in sighting.box)
    width = right - left
    best: tuple[float, str] | None = None
    for face_id, (f_left, _, f_right, f_bottom) in faces:
        centre = (f_left + f_right) / 2
        if not (left - width <= centre <= right + width) or f_bottom > top + width / 2:
            continue
        distance = top - f_bottom
        if best is None or distance < best[0]:
            best = (distance, face_id)
    return None if best is None else best[1]
