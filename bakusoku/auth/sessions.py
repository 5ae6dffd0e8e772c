"""Parents' sessions: made by redeeming an album code, scoped to its one album, short-lived.

A session token reads ``bkp_<session_id>_<secret>`` (256 random bits; only a SHA-256 is kept, as
for API keys). It is checked with its code on every request, so revoking the code ends every
session made with it at once. The session holds what the parent said about search results (faces
confirmed or rejected), never a reference photo; its row is deleted once it has expired.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from bakusoku.auth.codes import AlbumCode
from bakusoku.auth.principal import PARENT_ROLE, Principal
from bakusoku.db.schema import album_codes, parent_sessions

TOKEN_PREFIX = "bkp_"
_ID_BYTES = 9
# What one session may hold: more than a parent ever clicks, few enough to keep each search small.
MAX_FEEDBACK = 300

Verdict = Literal["confirmed", "rejected", "none"]
VERDICTS: tuple[Verdict, ...] = ("confirmed", "rejected", "none")


@dataclass(frozen=True)
class ParentSession:
    session_id: str
    code_id: str
    service: str
    album: str
    created_at: float
    expires_at: float
    confirmed: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()

    @property
    def principal(self) -> Principal:
        """The caller this session is: one service, one album, role ``parent``."""
        return Principal(
            key_id=self.session_id, service=self.service, albums=(self.album,), role=PARENT_ROLE
        )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``(session_id, secret)`` of a well-formed session token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    session_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(session_id) != 2 * _ID_BYTES or not 32 <= len(secret) <= 64:
        return None
    if not all(c in "0123456789abcdef" for c in session_id):
        return None
    return session_id, secret


class ParentSessionStore:
    """The ``parent_sessions`` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def start(
        self, code: AlbumCode, *, minutes: int, now: float | None = None
    ) -> tuple[ParentSession, str]:
        """A session for ``code``'s album, ending after ``minutes`` or with the code, if sooner."""
        now = time.time() if now is None else now
        session = ParentSession(
            session_id=secrets.token_hex(_ID_BYTES),
            code_id=code.code_id,
            service=code.service,
            album=code.album,
            created_at=now,
            expires_at=min(now + minutes * 60, code.expires_at),
        )
        secret = secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            # Housekeeping on the way: what a parent said lives no longer than their session.
            conn.execute(parent_sessions.delete().where(parent_sessions.c.expires_at < now))
            conn.execute(
                parent_sessions.insert().values(
                    session_id=session.session_id,
                    secret_sha256=_digest(secret),
                    code_id=session.code_id,
                    service=session.service,
                    album=session.album,
                    created_at=now,
                    expires_at=session.expires_at,
                    confirmed=[],
                    rejected=[],
                )
            )
        return session, f"{TOKEN_PREFIX}{session.session_id}_{secret}"

    def authenticate(self, token: str, *, now: float | None = None) -> ParentSession | None:
        """The live session of ``token``: not ended, not expired, its code not revoked."""
        parts = split_token(token)
        if parts is None:
            return None
        session_id, secret = parts
        now = time.time() if now is None else now
        query = (
            sa.select(parent_sessions, album_codes.c.revoked_at.label("code_revoked_at"))
            .join(album_codes, album_codes.c.code_id == parent_sessions.c.code_id, isouter=True)
            .where(parent_sessions.c.session_id == session_id)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        expected = row.secret_sha256 if row is not None else "0" * 64
        if not hmac.compare_digest(_digest(secret), expected) or row is None:
            return None
        if row.ended_at is not None or now >= row.expires_at or row.code_revoked_at is not None:
            return None
        # the code row is gone (deleted by hand): the session is too
        if row.code_revoked_at is None and not self._code_exists(row.code_id):
            return None
        return _session(row)

    def guessed(self, token: str) -> bool:
        """Whether ``token`` names a session that exists but with another secret: not that
        session's own token, so it may neither open nor end anything of it."""
        parts = split_token(token)
        if parts is None:
            return False
        session_id, secret = parts
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(parent_sessions.c.secret_sha256).where(
                    parent_sessions.c.session_id == session_id
                )
            ).first()
        return row is not None and not hmac.compare_digest(_digest(secret), row.secret_sha256)

    def _code_exists(self, code_id: str) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(
                sa.select(album_codes.c.code_id).where(album_codes.c.code_id == code_id)
            ).first()
        return found is not None

    def get(self, session_id: str) -> ParentSession | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(parent_sessions).where(parent_sessions.c.session_id == session_id)
            ).first()
        return _session(row) if row is not None else None

    def end(self, session_id: str) -> None:
        """End the session now: its row, with what the parent said, is deleted."""
        with self._engine.begin() as conn:
            conn.execute(parent_sessions.delete().where(parent_sessions.c.session_id == session_id))

    def end_for_code(self, code_id: str) -> list[str]:
        """End every session made with ``code_id`` (it was revoked); their ids."""
        with self._engine.begin() as conn:
            ids = [
                str(r.session_id)
                for r in conn.execute(
                    sa.select(parent_sessions.c.session_id).where(
                        parent_sessions.c.code_id == code_id
                    )
                )
            ]
            conn.execute(parent_sessions.delete().where(parent_sessions.c.code_id == code_id))
        return ids

    def set_verdict(
        self, session_id: str, face_ids: Sequence[str], verdict: Verdict
    ) -> ParentSession:
        """Record that ``face_ids`` are (``confirmed``), are not (``rejected``) the parent's
        child, or take back what was said (``none``)."""
        with self._engine.begin() as conn:
            row = conn.execute(
                sa.select(parent_sessions)
                .where(parent_sessions.c.session_id == session_id)
                .with_for_update()
            ).first()
            if row is None:
                raise LookupError(session_id)
            confirmed = [f for f in row.confirmed or [] if f not in face_ids]
            rejected = [f for f in row.rejected or [] if f not in face_ids]
            if verdict == "confirmed":
                confirmed = (confirmed + list(face_ids))[-MAX_FEEDBACK:]
            elif verdict == "rejected":
                rejected = (rejected + list(face_ids))[-MAX_FEEDBACK:]
            conn.execute(
                parent_sessions.update()
                .where(parent_sessions.c.session_id == session_id)
                .values(confirmed=confirmed, rejected=rejected)
            )
        found = self.get(session_id)
        assert found is not None
        return found


def _session(row: Any) -> ParentSession:
    return ParentSession(
        session_id=row.session_id,
        code_id=row.code_id,
        service=row.service,
        album=row.album,
        created_at=row.created_at,
        expires_at=row.expires_at,
        confirmed=tuple(row.confirmed or ()),
        rejected=tuple(row.rejected or ()),
    )
