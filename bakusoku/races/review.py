"""The "bib unknown" set of a race, and what staff decide of each photo in it.

A race photo is in the set while it is ready, shows no bib at the race's confidence threshold (no
``photo_bibs`` row at or above it, and no staff tag), and staff have not marked it "no bib
visible". ReadBibs leaves a photo there when it reads nothing sure, and when it fails: the photo
is ready and sold as any other, its bib just unknown until staff tag it.

Staff tags are ``photo_bibs`` rows with the source ``staff`` and confidence 1, validated against
the entry list; a re-read of the photo keeps them (:meth:`PhotoBibs.record`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bakusoku.db.photos import Page, decode_cursor, encode_cursor
from bakusoku.db.schema import bib_reviews, photo_bibs, photos
from bakusoku.domain.keys import upload_scope_prefix
from bakusoku.errors import BakusokuError
from bakusoku.races.bibs import SOURCE_STAFF
from bakusoku.races.repository import BibSighting, PhotoBibs, RaceRef, RaceRepository

NO_BIB = "no_bib"


class UnknownBibError(BakusokuError):
    """Staff tagged a photo with a bib that is not on the race's entry list."""

    code = "race.unknown_bib"

    def __init__(self, bibs: Sequence[str]) -> None:
        self.bibs = sorted(bibs)
        super().__init__(
            f"not on the entry list: {', '.join(self.bibs)}; check the number, or add the runner"
            " to the entry list first"
        )


@dataclass(frozen=True)
class Reviewed:
    """A photo's bibs after a staff decision."""

    photo_id: str
    bibs: list[BibSighting]
    no_bib: bool


class BibReview:
    """The bib-unknown set of a race and the only writer of ``bib_reviews``."""

    def __init__(self, db: sa.Engine, upload_prefix: str) -> None:
        self._db = db
        self._upload_prefix = upload_prefix
        self._bibs = PhotoBibs(db)
        self._races = RaceRepository(db)

    def unknown(
        self, race: RaceRef, min_confidence: float, *, cursor: str | None, limit: int
    ) -> Page:
        """Ready photos of the race with no bib at ``min_confidence`` and no staff decision,
        oldest first (the order they came from the course), ``limit`` at a time."""
        sure = sa.exists().where(
            photo_bibs.c.service == race.service,
            photo_bibs.c.album == race.album,
            photo_bibs.c.photo_id == photos.c.photo_id,
            sa.or_(
                photo_bibs.c.confidence >= min_confidence,
                photo_bibs.c.source == SOURCE_STAFF,
            ),
        )
        decided = sa.exists().where(
            bib_reviews.c.service == race.service,
            bib_reviews.c.album == race.album,
            bib_reviews.c.photo_id == photos.c.photo_id,
        )
        query = (
            sa.select(photos)
            .where(*self._race_photos(race), ~sure, ~decided)
            .order_by(photos.c.created_at, photos.c.photo_id)
        )
        if cursor:
            created_at, photo_id = decode_cursor(cursor)
            query = query.where(
                sa.or_(
                    photos.c.created_at > created_at,
                    sa.and_(photos.c.created_at == created_at, photos.c.photo_id > photo_id),
                )
            )
        with self._db.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query.limit(limit + 1))]
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["photo_id"])
        return Page(rows, next_cursor)

    def photo(self, race: RaceRef, photo_id: str) -> dict[str, Any] | None:
        """The race's photo, or None (another album's or service's photo is not the race's)."""
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(photos).where(*self._race_photos(race), photos.c.photo_id == photo_id)
            ).first()
        return None if row is None else dict(row._mapping)

    def tag(self, race: RaceRef, photo_id: str, bibs: Sequence[str], by: str) -> Reviewed:
        """Staff say the photo shows ``bibs`` (each on the entry list, or nothing is written)."""
        wanted = sorted({b.strip().upper() for b in bibs})
        missing = set(wanted) - self._races.known_bibs(race, wanted)
        if missing:
            raise UnknownBibError(sorted(missing))
        now = time.time()
        with self._db.begin() as conn:
            for bib in wanted:
                conn.execute(
                    photo_bibs.delete().where(
                        photo_bibs.c.service == race.service,
                        photo_bibs.c.album == race.album,
                        photo_bibs.c.photo_id == photo_id,
                        photo_bibs.c.bib == bib,
                    )
                )
                conn.execute(
                    photo_bibs.insert().values(
                        service=race.service,
                        album=race.album,
                        photo_id=photo_id,
                        bib=bib,
                        confidence=1.0,
                        source=SOURCE_STAFF,
                        box=None,
                        created_at=now,
                    )
                )
            self._forget_decision(conn, race, photo_id)
        return self.reviewed(race, photo_id)

    def mark_no_bib(self, race: RaceRef, photo_id: str, by: str) -> Reviewed:
        """Staff say no bib can be seen: the photo leaves the set (its readings are kept)."""
        with self._db.begin() as conn:
            self._forget_decision(conn, race, photo_id)
            conn.execute(
                bib_reviews.insert().values(
                    service=race.service,
                    album=race.album,
                    photo_id=photo_id,
                    outcome=NO_BIB,
                    reviewed_by=by,
                    reviewed_at=time.time(),
                )
            )
        return self.reviewed(race, photo_id)

    def reviewed(self, race: RaceRef, photo_id: str) -> Reviewed:
        with self._db.connect() as conn:
            no_bib = (
                conn.execute(
                    sa.select(bib_reviews.c.outcome).where(
                        bib_reviews.c.service == race.service,
                        bib_reviews.c.album == race.album,
                        bib_reviews.c.photo_id == photo_id,
                    )
                ).scalar()
                == NO_BIB
            )
        return Reviewed(photo_id, self._bibs.bibs_of(race, photo_id), no_bib)

    def forget_photo(self, race: RaceRef, photo_id: str) -> None:
        """A deleted photo leaves no decision behind."""
        with self._db.begin() as conn:
            self._forget_decision(conn, race, photo_id)

    def _forget_decision(self, conn: sa.Connection, race: RaceRef, photo_id: str) -> None:
        conn.execute(
            bib_reviews.delete().where(
                bib_reviews.c.service == race.service,
                bib_reviews.c.album == race.album,
                bib_reviews.c.photo_id == photo_id,
            )
        )

    def _race_photos(self, race: RaceRef) -> tuple[sa.ColumnElement[bool], ...]:
        prefix = upload_scope_prefix(self._upload_prefix, race.service, race.album)
        return (
            photos.c.album == race.album,
            photos.c.object_key.startswith(prefix, autoescape=True),
            photos.c.status == "ready",
        )
