"""Races, entry lists and timing results in the database: idempotent writes, standings by bib.

Every write is keyed by what the sender means: a race by service and album, an entry by bib, a
result by bib and checkpoint. Sending the same rows again changes nothing and says so; a changed
result (a timing correction) raises its ``revision``, which is what regenerates a certificate.
Every read and write is scoped to one service and album.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import photo_bibs, race_entries, race_results, races
from bakusoku.races.records import FINISH, Entry, Result

# Rows read or written per statement: well under every database's parameter limit.
_CHUNK = 500


@dataclass(frozen=True)
class RaceRef:
    """One race: an album of a service."""

    service: str
    album: str


@dataclass
class Saved:
    """What a batch of rows did: the keys it created or changed, and how many it left alone."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True)
class Standing:
    """A finisher's place overall and in their category, by net time (ties share a place)."""

    bib: str
    name: str | None
    category: str | None
    net_ms: int | None
    gun_ms: int | None
    place: int
    category_place: int | None


class RaceRepository:
    """The only writer of ``races``, ``race_entries`` and ``race_results``."""

    def __init__(self, db: sa.Engine) -> None:
        self._db = db

    def save_race(
        self,
        race: RaceRef,
        *,
        name: str,
        race_date: str,
        course: str | None,
        timezone: str,
        certificate_design: str | None = None,
    ) -> dict[str, Any]:
        now = time.time()
        values = {
            "name": name,
            "race_date": race_date,
            "course": course,
            "timezone": timezone,
            "certificate_design": certificate_design,
        }
        with self._db.begin() as conn:
            done = conn.execute(
                races.update().where(*_race_is(races, race)).values(**values, updated_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    races.insert().values(
                        service=race.service,
                        album=race.album,
                        **values,
                        created_at=now,
                        updated_at=now,
                    )
                )
        found = self.race(race)
        assert found is not None  # just written in this service and album
        return found

    def race(self, race: RaceRef) -> dict[str, Any] | None:
        with self._db.connect() as conn:
            row = conn.execute(sa.select(races).where(*_race_is(races, race))).mappings().first()
        return None if row is None else dict(row)

    def save_entries(self, race: RaceRef, entries: Sequence[Entry]) -> Saved:
        """Create or update entries by bib; rows equal to what is stored change nothing."""
        return self._save(
            race_entries,
            race,
            [asdict(e) for e in entries],
            key=("bib",),
        )

    def save_results(self, race: RaceRef, results: Sequence[Result]) -> Saved:
        """Create or update results by bib and checkpoint; a change raises the revision."""
        return self._save(
            race_results,
            race,
            [asdict(r) for r in results],
            key=("bib", "checkpoint"),
            revised=True,
        )

    def known_bibs(self, race: RaceRef, bibs: Iterable[str]) -> set[str]:
        """Which of ``bibs`` are on the race's entry list."""
        wanted = sorted(set(bibs))
        found: set[str] = set()
        with self._db.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                found.update(
                    conn.execute(
                        sa.select(race_entries.c.bib).where(
                            *_race_is(race_entries, race), race_entries.c.bib.in_(chunk)
                        )
                    ).scalars()
                )
        return found

    def longer_sides(self, race: RaceRef, bibs: Iterable[str]) -> dict[str, tuple[bool, bool]]:
        """For each of ``bibs`` a longer bib on the race's entry list ends or begins with, whether
        one does with more before it (``1854`` for ``854``) and with more after it (``8541``): a
        reading of it may be that bib with the digits on that side hidden."""
        wanted = sorted(set(bibs))[:_CHUNK]  # bibs read in one photo: a handful
        sides: dict[str, tuple[bool, bool]] = {}
        with self._db.connect() as conn:
            for bib in wanted:  # bibs are letters, digits and '-': nothing to escape in LIKE
                before, after = conn.execute(
                    sa.select(_longer_bib(race, bib, f"%{bib}"), _longer_bib(race, bib, f"{bib}%"))
                ).one()
                if before or after:
                    sides[bib] = (bool(before), bool(after))
        return sides

    def entry(self, race: RaceRef, bib: str) -> dict[str, Any] | None:
        with self._db.connect() as conn:
            row = (
                conn.execute(
                    sa.select(race_entries).where(
                        *_race_is(race_entries, race), race_entries.c.bib == bib
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def results_of(self, race: RaceRef, bib: str) -> list[dict[str, Any]]:
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(race_results)
                .where(*_race_is(race_results, race), race_results.c.bib == bib)
                .order_by(race_results.c.checkpoint)
            ).mappings()
            return [dict(r) for r in rows]

    def standings(
        self, race: RaceRef, *, checkpoint: str = FINISH, category: str | None = None
    ) -> list[Standing]:
        """Finishers at ``checkpoint`` by net time (gun time when no net time was sent)."""
        query = (
            sa.select(
                race_results.c.bib,
                race_results.c.net_ms,
                race_results.c.gun_ms,
                sa.func.coalesce(race_entries.c.name, race_results.c.name).label("name"),
                sa.func.coalesce(race_entries.c.category, race_results.c.category).label(
                    "category"
                ),
            )
            .select_from(
                race_results.outerjoin(
                    race_entries,
                    sa.and_(
                        race_entries.c.service == race_results.c.service,
                        race_entries.c.album == race_results.c.album,
                        race_entries.c.bib == race_results.c.bib,
                    ),
                )
            )
            .where(*_race_is(race_results, race), race_results.c.checkpoint == checkpoint)
        )
        with self._db.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        ranked = _ranked(rows)
        return [s for s in ranked if category is None or s.category == category]

    def standing(self, race: RaceRef, bib: str, checkpoint: str = FINISH) -> Standing | None:
        return next((s for s in self.standings(race, checkpoint=checkpoint) if s.bib == bib), None)

    def _save(
        self,
        table: sa.Table,
        race: RaceRef,
        rows: list[dict[str, Any]],
        *,
        key: tuple[str, ...],
        revised: bool = False,
    ) -> Saved:
        saved = Saved()
        now = time.time()
        with self._db.begin() as conn:
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                stored = _stored(conn, table, race, key, chunk)
                for row in chunk:
                    ident = tuple(row[k] for k in key)
                    label = "/".join(ident)
                    before = stored.get(ident)
                    if before is None:
                        extra = {"revision": 1, "received_at": now} if revised else {}
                        conn.execute(
                            table.insert().values(
                                service=race.service,
                                album=race.album,
                                **row,
                                **extra,
                                **({} if revised else {"created_at": now}),
                                updated_at=now,
                            )
                        )
                        saved.created.append(label)
                    elif any(before[c] != v for c, v in row.items()):
                        changes: dict[str, Any] = dict(row, updated_at=now)
                        if revised:
                            changes["revision"] = before["revision"] + 1
                        conn.execute(
                            table.update()
                            .where(*_race_is(table, race), *(table.c[k] == row[k] for k in key))
                            .values(**changes)
                        )
                        saved.updated.append(label)
                    else:
                        saved.unchanged += 1
        return saved


def _stored(
    conn: sa.Connection,
    table: sa.Table,
    race: RaceRef,
    key: tuple[str, ...],
    chunk: list[dict[str, Any]],
) -> dict[tuple[str, ...], dict[str, Any]]:
    """The rows already stored for the bibs of ``chunk``, by key."""
    bibs = sorted({row["bib"] for row in chunk})
    found = conn.execute(
        sa.select(table).where(*_race_is(table, race), table.c.bib.in_(bibs))
    ).mappings()
    return {tuple(r[k] for k in key): dict(r) for r in found}


def _race_is(table: sa.Table, race: RaceRef) -> tuple[sa.ColumnElement[bool], ...]:
    return (table.c.service == race.service, table.c.album == race.album)


def _ranked(rows: list[dict[str, Any]]) -> list[Standing]:
    def time_of(row: dict[str, Any]) -> int | None:
        return row["net_ms"] if row["net_ms"] is not None else row["gun_ms"]

    timed = sorted(
        (r for r in rows if time_of(r) is not None), key=lambda r: (time_of(r), r["bib"])
    )
    places = _places([time_of(r) for r in timed])
    by_category: dict[str, list[int | None]] = {}
    for row in timed:
        if row["category"] is not None:
            by_category.setdefault(row["category"], []).append(time_of(row))
    category_places = {c: _places(times) for c, times in by_category.items()}
    seen: dict[str, int] = {}
    standings = []
    for row, place in zip(timed, places, strict=True):
        category_place = None
        if row["category"] is not None:
            index = seen.get(row["category"], 0)
            category_place = category_places[row["category"]][index]
            seen[row["category"]] = index + 1
        standings.append(
            Standing(
                bib=row["bib"],
                name=row["name"],
                category=row["category"],
                net_ms=row["net_ms"],
                gun_ms=row["gun_ms"],
                place=place,
                category_place=category_place,
            )
        )
    return standings


def _places(times: list[int | None]) -> list[int]:
    """1-based places of sorted times; equal times share the better place (1, 2, 2, 4)."""
    places: list[int] = []
    for index, value in enumerate(times):
        if index and value == times[index - 1]:
            places.append(places[-1])
        else:
            places.append(index + 1)
    return places


@dataclass(frozen=True)
class BibSighting:
    """A bib a photo shows: read from it (``ocr``, ``rekognition``) or tagged by ``staff``."""

    bib: str
    confidence: float
    source: str
    box: tuple[int, int, int, int] | None = None


class PhotoBibs:
    """The only writer of ``photo_bibs``: which runners each photo of a race shows."""

    def __init__(self, db: sa.Engine) -> None:
        self._db = db

    def record(self, race: RaceRef, photo_id: str, sightings: Sequence[BibSighting]) -> None:
        """Replace what was read from the photo (a retry or a re-read writes the same rows);
        staff tags are kept."""
        now = time.time()
        with self._db.begin() as conn:
            conn.execute(
                photo_bibs.delete().where(
                    *_race_is(photo_bibs, race),
                    photo_bibs.c.photo_id == photo_id,
                    photo_bibs.c.source != "staff",
                )
            )
            staff = set(
                conn.execute(
                    sa.select(photo_bibs.c.bib).where(
                        *_race_is(photo_bibs, race), photo_bibs.c.photo_id == photo_id
                    )
                ).scalars()
            )
            for sighting in sightings:
                if sighting.bib in staff:
                    continue
                conn.execute(
                    photo_bibs.insert().values(
                        service=race.service,
                        album=race.album,
                        photo_id=photo_id,
                        bib=sighting.bib,
                        confidence=sighting.confidence,
                        source=sighting.source,
                        box=list(sighting.box) if sighting.box else None,
                        created_at=now,
                    )
                )

    def bibs_of(self, race: RaceRef, photo_id: str) -> list[BibSighting]:
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(photo_bibs)
                .where(*_race_is(photo_bibs, race), photo_bibs.c.photo_id == photo_id)
                .order_by(photo_bibs.c.confidence.desc(), photo_bibs.c.bib)
            ).mappings()
            return [_sighting(r) for r in rows]

    def photos_of(self, race: RaceRef, bib: str, min_confidence: float) -> list[str]:
        """The photos that show ``bib`` at ``min_confidence`` or more, most confident first."""
        with self._db.connect() as conn:
            return list(
                conn.execute(
                    sa.select(photo_bibs.c.photo_id)
                    .where(
                        *_race_is(photo_bibs, race),
                        photo_bibs.c.bib == bib,
                        photo_bibs.c.confidence >= min_confidence,
                    )
                    .order_by(photo_bibs.c.confidence.desc(), photo_bibs.c.photo_id)
                ).scalars()
            )

    def forget_bib(self, race: RaceRef, bib: str) -> list[str]:
        """A runner's erasure: no photo shows ``bib`` any more; returns the photos that did."""
        with self._db.begin() as conn:
            photos = sorted(
                set(
                    conn.execute(
                        sa.select(photo_bibs.c.photo_id).where(
                            *_race_is(photo_bibs, race), photo_bibs.c.bib == bib
                        )
                    ).scalars()
                )
            )
            conn.execute(
                photo_bibs.delete().where(*_race_is(photo_bibs, race), photo_bibs.c.bib == bib)
            )
        return photos

    def forget_photo(self, race: RaceRef, photo_id: str) -> None:
        """A deleted photo shows nobody."""
        with self._db.begin() as conn:
            conn.execute(
                photo_bibs.delete().where(
                    *_race_is(photo_bibs, race), photo_bibs.c.photo_id == photo_id
                )
            )


def _sighting(row: Any) -> BibSighting:
    box = row["box"]
    return BibSighting(
        row["bib"],
        float(row["confidence"]),
        row["source"],
        None if box is None else (int(box[0]), int(box[1]), int(box[2]), int(box[3])),
    )


def _longer_bib(race: RaceRef, bib: str, pattern: str) -> sa.Exists:
    """Whether an entrant's bib other than ``bib`` matches ``pattern`` (LIKE)."""
    column = race_entries.c.bib
    return sa.exists().where(*_race_is(race_entries, race), column != bib, column.like(pattern))
