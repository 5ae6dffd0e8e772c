"""Runners' privacy: asking for one's face to be hidden, and for one's photos to be erased.

``face``: the runner's face is hidden in other runners' photos (the faces package's
do-not-publish list blurs it in previews); the request is kept with the bib. ``erase``: every
sighting of the bib is forgotten, so no gallery, message or search by bib finds those photos
again, and later sightings are not shown; the request keeps the photos it took away, which is
what makes it verifiable. Both are written once (asking again changes nothing) and audited by
the caller in the audit log.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import runner_erasure_requests
from bakusoku.races.repository import PhotoBibs, RaceRef

FACE = "face"
ERASE = "erase"
KINDS = (FACE, ERASE)


class RunnerPrivacy:
    """The only writer of ``runner_erasure_requests``."""

    def __init__(self, db: sa.Engine) -> None:
        self._db = db

    def request(self, race: RaceRef, bib: str, kind: str) -> dict[str, Any]:
        """Record (once) and carry out a runner's request; returns it as stored."""
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
            self._finish(race, bib, kind, None)
        found = self._get(race, bib, kind)
        assert found is not None  # just written
        return found

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

    def removed_bibs(self, race: RaceRef) -> set[str]:
        """Bibs whose faces must not be shown in anyone else's photos."""
        with self._db.connect() as conn:
            return set(
                conn.execute(
                    sa.select(runner_erasure_requests.c.bib).where(
                        runner_erasure_requests.c.service == race.service,
                        runner_erasure_requests.c.album == race.album,
                    )
                ).scalars()
            )

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
