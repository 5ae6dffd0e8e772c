"""Album codes: what staff hand parents to see one album, typed on a phone, stored hashed.

A code reads ``ABCD-EFGH-JKMN``: twelve characters of an alphabet without look-alikes (no 0/O,
1/I/L, no lower case; dashes and spaces are ignored). The first four are the code's id, which
finds its row (and so its album, for the per-album limit on wrong guesses); the other eight, about
40 bits, are the secret. 40 bits are far beyond online guessing at a few tries a minute per
address and per album, but not beyond a stolen table: so the secret is kept only as a salted
scrypt hash (16 MiB, ~50 ms), not a plain digest as API keys' 256-bit secrets are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa

from bakusoku import utc
from bakusoku.auth.errors import CodeNotFoundError, InvalidCodeSpecError
from bakusoku.db.schema import album_codes
from bakusoku.domain.keys import is_album_name, is_service_name

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ID_LENGTH = 4
SECRET_LENGTH = 8
CODE_LENGTH = ID_LENGTH + SECRET_LENGTH
_SEPARATORS = re.compile(r"[\s\-_.]")
# scrypt's cost: n=2^14, r=8 is 16 MiB and tens of milliseconds per check.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SALT_BYTES = 16
_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhdw])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


class Redeemed(Enum):
    """What checking a code found; only ``OK`` opens a session."""

    OK = "ok"
    MALFORMED = "malformed"  # not twelve characters of the alphabet
    WRONG = "wrong"  # no such code: unknown id, or the secret does not match
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class AlbumCode:
    """A code's record, without its secret."""

    code_id: str
    service: str
    album: str
    note: str | None
    created_at: float
    created_by: str
    expires_at: float
    revoked_at: float | None
    revoked_by: str | None
    uses: int
    last_used_at: float | None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        return {
            "code_id": self.code_id,
            "service": self.service,
            "album": self.album,
            "note": self.note,
            "created_at": utc.iso_seconds(self.created_at),
            "created_by": self.created_by,
            "expires_at": utc.iso_seconds(self.expires_at),
            "revoked_at": utc.iso_seconds(self.revoked_at) if self.revoked_at else None,
            "revoked_by": self.revoked_by,
            "uses": self.uses,
            "last_used_at": utc.iso_seconds(self.last_used_at) if self.last_used_at else None,
            "state": "revoked"
            if self.revoked_at
            else "active"
            if now < self.expires_at
            else "expired",
        }


@dataclass(frozen=True)
class Redemption:
    """The outcome of a code typed by a parent: ``code`` is set when its id exists."""

    outcome: Redeemed
    code: AlbumCode | None


def normalise(typed: str) -> str | None:
    """The code a person typed, upper-cased and without separators; None when it cannot be one."""
    text = _SEPARATORS.sub("", typed or "").upper()
    if len(text) != CODE_LENGTH or any(c not in ALPHABET for c in text):
        return None
    return text


def code_id_of(typed: str) -> str | None:
    """The id part of a well-formed code (to limit wrong guesses per album), else None."""
    text = normalise(typed)
    return text[:ID_LENGTH] if text else None


def display(code: str) -> str:
    """``ABCDEFGHJKMN`` as ``ABCD-EFGH-JKMN``: easier to read out and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def parse_expiry(text: str | None, *, now: float, default_days: int, max_days: int) -> float:
    """When a code made ``now`` stops working: ``30d``, ``12h``, ``2w``, ``90m`` from now, an ISO
    date (the end of that day, UTC) or time; at most ``max_days`` away."""
    if not text:
        expires = now + default_days * 86400
    elif match := _DURATION.match(text):
        expires = now + int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        try:
            moment = utc.parse_iso(text.strip())
        except ValueError:
            raise InvalidCodeSpecError(
                f"expiry {text[:40]!r} is neither a duration (90m, 12h, 30d, 2w) nor an ISO-8601"
                " date or time (2026-12-31, 2026-12-31T18:00Z)"
            ) from None
        is_date = re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", text) is not None
        expires = moment.timestamp() + (86400 if is_date else 0)
    if expires <= now:
        raise InvalidCodeSpecError(f"expiry {text!r} is in the past: give a time to come")
    if expires > now + max_days * 86400:
        raise InvalidCodeSpecError(
            f"expiry {text!r} is more than {max_days} days away (setting 'album_code_max_days')"
        )
    return expires


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )


def _encode_hash(secret: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    parts = (base64.b64encode(salt).decode(), base64.b64encode(_hash(secret, salt)).decode())
    return f"scrypt${parts[0]}${parts[1]}"


def _matches(secret: str, stored: str | None) -> bool:
    """Constant work whether or not a row was found: an unknown id costs one scrypt too."""
    salt, digest = b"\0" * _SALT_BYTES, b"\0" * 32
    if stored and stored.count("$") == 2:
        _scheme, salt_text, digest_text = stored.split("$")
        salt, digest = base64.b64decode(salt_text), base64.b64decode(digest_text)
    return hmac.compare_digest(_hash(secret, salt), digest) and stored is not None


def check_code_spec(service: str, album: str) -> None:
    if not is_service_name(service):
        raise InvalidCodeSpecError(
            f"service {service!r} is not a valid name: use 1-32 lower-case letters, digits and"
            " hyphens (e.g. enphoto)"
        )
    if not is_album_name(album):
        raise InvalidCodeSpecError(
            f"album {album!r} is not a valid name: use 1-64 ASCII letters, digits, '_' and '-'"
            " (e.g. sports-day)"
        )


def code_not_found(code_id: str) -> CodeNotFoundError:
    """What a missing code answers, and so what one the caller may not reach answers too."""
    shown = repr(code_id) if re.fullmatch(f"[{ALPHABET}]{{{ID_LENGTH}}}", code_id) else "given"
    return CodeNotFoundError(
        f"no album code has the id {shown}; `bakusoku albums codes` lists them"
    )


class AlbumCodeStore:
    """The ``album_codes`` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def create(
        self,
        *,
        service: str,
        album: str,
        expires_at: float,
        created_by: str,
        note: str | None = None,
    ) -> tuple[AlbumCode, str]:
        """A new code and its typeable form (``ABCD-EFGH-JKMN``), which is never stored."""
        check_code_spec(service, album)
        now = time.time()
        for _attempt in range(20):  # ~900,000 ids: a clash is rare, twenty in a row impossible
            text = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            record = AlbumCode(
                code_id=text[:ID_LENGTH],
                service=service,
                album=album,
                note=(note or None) and note[:200],
                created_at=now,
                created_by=created_by[:80],
                expires_at=expires_at,
                revoked_at=None,
                revoked_by=None,
                uses=0,
                last_used_at=None,
            )
            try:
                with self._engine.begin() as conn:
                    conn.execute(
                        album_codes.insert().values(
                            code_id=record.code_id,
                            secret_hash=_encode_hash(text[ID_LENGTH:]),
                            service=service,
                            album=album,
                            note=record.note,
                            created_at=now,
                            created_by=record.created_by,
                            expires_at=expires_at,
                        )
                    )
            except sa.exc.IntegrityError:
                continue
            return record, display(text)
        raise RuntimeError("could not find a free album code id after 20 tries")

    def list(
        self,
        *,
        service: str | None = None,
        album: str | None = None,
        include_inactive: bool = False,
    ) -> list[AlbumCode]:
        query = sa.select(album_codes).order_by(album_codes.c.created_at.desc())
        if service is not None:
            query = query.where(album_codes.c.service == service)
        if album is not None:
            query = query.where(album_codes.c.album == album)
        if not include_inactive:
            query = query.where(
                album_codes.c.revoked_at.is_(None), album_codes.c.expires_at > time.time()
            )
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def get(self, code_id: str, *, service: str | None = None) -> AlbumCode:
        """The code ``code_id``; CodeNotFoundError if none (or it is another service's)."""
        code_id = code_id.upper()
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(album_codes).where(album_codes.c.code_id == code_id)
            ).first()
        if row is None or (service is not None and row.service != service):
            raise code_not_found(code_id)
        return _record(row)

    def revoke(self, code_id: str, *, revoked_by: str, service: str | None = None) -> AlbumCode:
        """Revoke at once; revoking a revoked code changes nothing."""
        code = self.get(code_id, service=service)
        if code.revoked_at is None:
            with self._engine.begin() as conn:
                conn.execute(
                    album_codes.update()
                    .where(
                        album_codes.c.code_id == code.code_id, album_codes.c.revoked_at.is_(None)
                    )
                    .values(revoked_at=time.time(), revoked_by=revoked_by[:80])
                )
        return self.get(code.code_id)

    def redeem(self, typed: str, *, now: float | None = None) -> Redemption:
        """Check a code a parent typed; a right one is counted as used."""
        now = time.time() if now is None else now
        text = normalise(typed)
        if text is None:
            return Redemption(Redeemed.MALFORMED, None)
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(album_codes).where(album_codes.c.code_id == text[:ID_LENGTH])
            ).first()
        right = _matches(text[ID_LENGTH:], row.secret_hash if row is not None else None)
        if row is None:
            return Redemption(Redeemed.WRONG, None)
        code = _record(row)
        if not right:
            return Redemption(Redeemed.WRONG, code)
        if code.revoked_at is not None:
            return Redemption(Redeemed.REVOKED, code)
        if now >= code.expires_at:
            return Redemption(Redeemed.EXPIRED, code)
        with self._engine.begin() as conn:
            conn.execute(
                album_codes.update()
                .where(album_codes.c.code_id == code.code_id)
                .values(uses=album_codes.c.uses + 1, last_used_at=now)
            )
        return Redemption(Redeemed.OK, code)


def _record(row: Any) -> AlbumCode:
    return AlbumCode(
        code_id=row.code_id,
        service=row.service,
        album=row.album,
        note=row.note,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        uses=int(row.uses or 0),
        last_used_at=row.last_used_at,
    )
