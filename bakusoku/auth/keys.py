"""API keys: made once, shown once, stored as a SHA-256 of their secret, revoked for good.

A key reads ``bks_<key_id>_<secret>``: the id finds the row, the secret (256 random bits) is
compared with the stored digest in constant time. With that much entropy a plain SHA-256 is as
safe as a slow password hash, and checking a key costs microseconds on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bakusoku.auth.errors import InvalidKeySpecError, KeyNotFoundError
from bakusoku.auth.principal import ROLES, Principal
from bakusoku.db.schema import api_keys
from bakusoku.domain.keys import is_album_name, is_service_name

KEY_PREFIX = "bks_"
_KEY_ID_BYTES = 6
_SECRET_BYTES = 32
# What follows the id: base64url of the random bytes, unpadded (the admin token and parents'
# sessions are made the same way), so error messages can tell one apart without its prefix.
SECRET_LENGTH = 43


@dataclass(frozen=True)
class ApiKey:
    """A key's record, without its secret."""

    key_id: str
    service: str
    albums: tuple[str, ...] | None
    role: str
    note: str | None
    created_at: float
    created_by: str
    revoked_at: float | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "service": self.service,
            "albums": list(self.albums) if self.albums is not None else None,
            "role": self.role,
            "note": self.note,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(token: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else None."""
    if not token.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = token[len(KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 2 * _KEY_ID_BYTES or len(secret) < 32 or len(secret) > 128:
        return None
    if not all(c in "0123456789abcdef" for c in key_id):
        return None
    return key_id, secret


def check_key_spec(service: str, albums: Sequence[str] | None, role: str) -> None:
    if not is_service_name(service):
        raise InvalidKeySpecError(
            f"service {service!r} is not a valid name: use 1-32 lower-case letters, digits and"
            " hyphens, starting with a letter or digit (e.g. enphoto)"
        )
    for album in albums or ():
        if not is_album_name(album):
            raise InvalidKeySpecError(
                f"album {album!r} is not a valid name: use 1-64 ASCII letters, digits, '_' and"
                " '-', starting with a letter or digit (e.g. sports-day)"
            )
    if role not in ROLES:
        raise InvalidKeySpecError(f"role {role!r} is unknown; use one of {', '.join(ROLES)}")


class KeyStore:
    """The ``api_keys`` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def create(
        self,
        *,
        service: str,
        albums: Sequence[str] | None,
        role: str,
        created_by: str,
        note: str | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret form, which is never stored and cannot be shown again."""
        albums = tuple(dict.fromkeys(albums)) if albums else None
        check_key_spec(service, albums, role)
        key_id = secrets.token_hex(_KEY_ID_BYTES)
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        record = ApiKey(
            key_id=key_id,
            service=service,
            albums=albums,
            role=role,
            note=(note or None) and note[:200],
            created_at=time.time(),
            created_by=created_by[:80],
            revoked_at=None,
            revoked_by=None,
        )
        with self._engine.begin() as conn:
            conn.execute(
                api_keys.insert().values(
                    key_id=key_id,
                    secret_sha256=_digest(secret),
                    service=service,
                    albums=list(albums) if albums is not None else None,
                    role=role,
                    note=record.note,
                    created_at=record.created_at,
                    created_by=record.created_by,
                )
            )
        return record, f"{KEY_PREFIX}{key_id}_{secret}"

    def list(self, *, service: str | None = None, include_revoked: bool = False) -> list[ApiKey]:
        query = sa.select(api_keys).order_by(api_keys.c.service, api_keys.c.created_at)
        if service is not None:
            query = query.where(api_keys.c.service == service)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def get(self, key_id: str, *, service: str | None = None) -> ApiKey:
        """The key ``key_id``; KeyNotFoundError if none (or it belongs to another service)."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None or (service is not None and row.service != service):
            raise KeyNotFoundError(
                f"no key has the id {key_id!r}; `bakusoku keys list` shows the ids"
            )
        return _record(row)

    def revoke(self, key_id: str, *, revoked_by: str, service: str | None = None) -> ApiKey:
        """Revoke ``key_id`` at once; revoking a revoked key changes nothing."""
        key = self.get(key_id, service=service)
        if key.revoked_at is not None:
            return key
        now = time.time()
        with self._engine.begin() as conn:
            conn.execute(
                api_keys.update()
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=revoked_by[:80])
            )
        return self.get(key_id)

    def authenticate(self, token: str) -> Principal | None:
        """The principal of an active key, else None (malformed, unknown, wrong secret, revoked)."""
        parts = split_key(token)
        if parts is None:
            return None
        key_id, secret = parts
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        expected = row.secret_sha256 if row is not None else "0" * 64
        matches = hmac.compare_digest(_digest(secret), expected)
        if row is None or not matches or row.revoked_at is not None:
            return None
        albums = tuple(row.albums) if row.albums is not None else None
        return Principal(key_id=row.key_id, service=row.service, albums=albums, role=row.role)


def _record(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        service=row.service,
        albums=tuple(row.albums) if row.albums is not None else None,
        role=row.role,
        note=row.note,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )
