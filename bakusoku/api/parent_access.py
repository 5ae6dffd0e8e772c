"""How a parent gets in: an album code typed on a phone becomes a session cookie for one album.

Guesses are limited per client address (every attempt) and per album (wrong codes whose first
characters name one of its codes), each attempt that gets past the limits is audited, and the
session is an HttpOnly, SameSite=Strict cookie that only the parent API (``/v1/parent``) reads:
the staff API takes bearer keys only, so a parent's cookie opens nothing there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import sqlalchemy as sa

from bakusoku.api.errors import ApiError
from bakusoku.api.references import ReferencePhotos
from bakusoku.auth import audit as actions
from bakusoku.auth.audit import AuditLog
from bakusoku.auth.codes import AlbumCodeStore, Redeemed, code_id_of
from bakusoku.auth.errors import CodeNotFoundError
from bakusoku.auth.ratelimit import RateLimiter
from bakusoku.auth.sessions import ParentSession, ParentSessionStore, split_token
from bakusoku.config import MIB, Settings

PARENT_API = "/v1/parent"
SESSION_PATH = PARENT_API + "/session"
COOKIE = "bakusoku_parent"
_WRONG = (
    "this code does not open an album: check it against the card or message you were given"
    " (12 letters and digits, e.g. ABCD-EFGH-JKMN) and type it again"
)
_OVER = "too many codes were tried from here or for this album: wait {s} seconds and try again"


def parent_path(path: str) -> bool:
    return path == PARENT_API or path.startswith(PARENT_API + "/")


def session_cookie(scope: dict[str, Any] | Any) -> str | None:
    """The parent session token in a request's ``Cookie`` header, if there is one."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                return None
            morsel = jar.get(COOKIE)
            if morsel is not None and 0 < len(morsel.value) <= 200:
                return morsel.value
    return None


@dataclass
class ParentAccess:
    """Album codes, parents' sessions, their limits and the reference photos held for them."""

    settings: Settings
    codes: AlbumCodeStore
    sessions: ParentSessionStore
    audit: AuditLog
    per_address: RateLimiter
    per_album: RateLimiter
    references: ReferencePhotos

    @classmethod
    def from_settings(cls, settings: Settings, engine: sa.Engine) -> ParentAccess:
        per_address = settings.code_attempts_per_minute
        per_album = settings.code_album_attempts_per_minute
        return cls(
            settings=settings,
            codes=AlbumCodeStore(engine),
            sessions=ParentSessionStore(engine),
            audit=AuditLog(engine),
            per_address=RateLimiter(per_address, max(1, per_address)),
            per_album=RateLimiter(per_album, max(1, per_album)),
            references=ReferencePhotos(max_bytes=settings.parent_references_held_mb * MIB),
        )

    def authenticate(self, token: str) -> ParentSession | None:
        session = self.sessions.authenticate(token)
        parts = split_token(token)
        # The session's own token, of a session that ended elsewhere (a code revoked from the
        # command line): its photos go now. A guessed secret beside a real id takes nothing.
        if session is None and parts is not None and not self.sessions.guessed(token):
            self.references.drop(parts[0])
        return session

    def redeem(self, typed: str, client: str) -> tuple[ParentSession, str]:
        """A session for the album ``typed`` opens; ApiError 401 / 429 otherwise (audited)."""
        wait = self.per_address.acquire(f"ip:{client}")
        if wait is not None:
            raise _throttled(wait)
        album_key = self._album_of(typed)
        if album_key is not None:
            wait = self.per_album.waiting(album_key)
            if wait is not None:
                raise _throttled(wait)
        found = self.codes.redeem(typed)
        code = found.code
        if found.outcome is not Redeemed.OK or code is None:
            if album_key is not None and found.outcome is Redeemed.WRONG:
                self.per_album.acquire(album_key)
            self.audit.record(
                f"parent@{client}"[:80],
                actions.CODE_FAIL,
                service=code.service if code else None,
                target=code.code_id if code else None,
                details={"reason": found.outcome.value, "album": code.album if code else None},
            )
            raise _refused(found.outcome)
        session, token = self.sessions.start(code, minutes=self.settings.parent_session_minutes)
        self.audit.record(
            f"parent@{client}"[:80],
            actions.CODE_USE,
            service=code.service,
            target=code.code_id,
            details={"album": code.album, "session": session.session_id},
        )
        return session, token

    def end(self, session: ParentSession) -> None:
        self.references.drop(session.session_id)
        self.sessions.end(session.session_id)

    def revoked(self, code_id: str) -> None:
        """A code was revoked: end its sessions and forget their reference photos at once."""
        for session_id in self.sessions.end_for_code(code_id):
            self.references.drop(session_id)

    def _album_of(self, typed: str) -> str | None:
        code_id = code_id_of(typed)
        if code_id is None:
            return None
        try:
            code = self.codes.get(code_id)
        except CodeNotFoundError:
            return None
        return f"{code.service}/{code.album}"


def _throttled(wait: int) -> ApiError:
    return ApiError(
        429, "code.too_many_attempts", _OVER.format(s=wait), headers={"Retry-After": str(wait)}
    )


def _refused(outcome: Redeemed) -> ApiError:
    if outcome is Redeemed.EXPIRED:
        return ApiError(
            401,
            "code.expired",
            "this album code has expired: ask the school or photographer for a new one",
            "code",
        )
    if outcome is Redeemed.REVOKED:
        return ApiError(
            401,
            "code.revoked",
            "this album code was withdrawn: ask the school or photographer for a new one",
            "code",
        )
    return ApiError(401, "code.invalid", _WRONG, "code")


def session_expiry_seconds(session: ParentSession) -> int:
    return max(1, int(session.expires_at - time.time()))
