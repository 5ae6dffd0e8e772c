"""Finisher certificates in the database: one row per result revision and photo of a bib.

A row is written when the workflow for it starts (``making``) and ends ``ready`` with the keys
of its files, or ``failed`` with a code and a reason a person can act on. A timing correction
raises the result's revision, a better finish photo changes the photo: either makes a new row,
and the runner's certificate is the newest row (highest revision, then the latest made).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import certificates, photo_bibs, race_results
from bakusoku.races.records import FINISH
from bakusoku.races.repository import RaceRef

MAKING = "making"
READY = "ready"
FAILED = "failed"


@dataclass(frozen=True)
class CertificateKey:
    """What one certificate is made from: a bib's finish result at a revision, and a photo."""

    race: RaceRef
    bib: str
    revision: int
    photo_id: str


@dataclass(frozen=True)
class CertificateFiles:
    """Where a certificate's files are in the store."""

    jpeg_l: str
    jpeg_2l: str
    pdf: str


class Certificates:
    """The only writer of ``certificates``."""

    def __init__(self, db: sa.Engine) -> None:
        self._db = db

    def begin(self, key: CertificateKey, execution_name: str) -> bool:
        """Record a certificate being made; False when that one was already begun (a repeat)."""
        now = time.time()
        try:
            with self._db.begin() as conn:
                conn.execute(
                    certificates.insert().values(
                        **_key_values(key),
                        execution_name=execution_name,
                        status=MAKING,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def waiting(self, min_confidence: float, settled_before: float) -> list[tuple[RaceRef, str]]:
        """Bibs whose finish result (with a time) and confident photo exist but whose certificate
        of that revision was never begun, or is still being made since before ``settled_before``:
        the ones a lost or failed start left out."""
        result, cert = race_results.c, certificates.c
        same_bib = (
            (cert.service == result.service)
            & (cert.album == result.album)
            & (cert.bib == result.bib)
            & (cert.revision == result.revision)
        )
        settled = (cert.status != MAKING) | (cert.updated_at >= settled_before)
        photo = photo_bibs.c
        query = (
            sa.select(result.service, result.album, result.bib)
            .where(
                result.checkpoint == FINISH,
                result.net_ms.is_not(None) | result.gun_ms.is_not(None),
                sa.exists().where(
                    photo.service == result.service,
                    photo.album == result.album,
                    photo.bib == result.bib,
                    photo.confidence >= min_confidence,
                ),
                ~sa.exists().where(same_bib, settled),
            )
            .order_by(result.service, result.album, result.bib)
        )
        with self._db.connect() as conn:
            rows = conn.execute(query).all()
        return [(RaceRef(service, album), bib) for service, album, bib in rows]

    def find(self, key: CertificateKey) -> dict[str, Any] | None:
        with self._db.connect() as conn:
            row = conn.execute(sa.select(certificates).where(*_is(key))).mappings().first()
        return None if row is None else dict(row)

    def latest(self, race: RaceRef, bib: str) -> dict[str, Any] | None:
        """The runner's certificate: the highest revision's newest row."""
        with self._db.connect() as conn:
            row = (
                conn.execute(
                    sa.select(certificates)
                    .where(
                        certificates.c.service == race.service,
                        certificates.c.album == race.album,
                        certificates.c.bib == bib,
                    )
                    .order_by(certificates.c.revision.desc(), certificates.c.created_at.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def mark_ready(
        self, key: CertificateKey, execution_name: str, design: str, files: CertificateFiles
    ) -> None:
        """The certificate is made (an execution started elsewhere than the door records its row)."""
        self._upsert(
            key,
            execution_name,
            status=READY,
            design=design,
            jpeg_l_key=files.jpeg_l,
            jpeg_2l_key=files.jpeg_2l,
            pdf_key=files.pdf,
            code=None,
            reason=None,
            ready_at=time.time(),
        )

    def mark_failed(self, key: CertificateKey, execution_name: str, code: str, reason: str) -> None:
        self._upsert(key, execution_name, status=FAILED, code=code[:64], reason=reason[:512])

    def _upsert(self, key: CertificateKey, execution_name: str, **values: Any) -> None:
        now = time.time()
        with self._db.begin() as conn:
            done = conn.execute(
                certificates.update().where(*_is(key)).values(**values, updated_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    certificates.insert().values(
                        **_key_values(key),
                        execution_name=execution_name,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                )


def _key_values(key: CertificateKey) -> dict[str, Any]:
    return {
        "service": key.race.service,
        "album": key.race.album,
        "bib": key.bib,
        "revision": key.revision,
        "photo_id": key.photo_id,
    }


def _is(key: CertificateKey) -> tuple[sa.ColumnElement[bool], ...]:
    return tuple(certificates.c[k] == v for k, v in _key_values(key).items())
