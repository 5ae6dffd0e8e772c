"""Signed runner links and sessions: HMAC-SHA256 over one race, one bib and an expiry.

A token reads ``{payload}.{signature}``, both URL-safe base64; the payload names the service,
album, bib, purpose and expiry. ``link`` tokens go into messages (days); ``session`` tokens are
what the runner page holds after the link or bib + surname was checked (hours); ``line`` tokens
are the code a runner sends to the LINE account to subscribe there (an hour). The key never
leaves the server; a token for one bib opens nothing of another, and a tampered or expired one
opens nothing at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Literal

from bakusoku.races.repository import RaceRef

Purpose = Literal["link", "session", "line"]
_SIGNATURE_BYTES = 18  # 144 bits: far beyond guessing, 24 characters
_KEY_LABEL = b"bakusoku runner links v1"


@dataclass(frozen=True)
class RunnerGrant:
    """What a valid token allows: one bib of one race, until ``expires_at``."""

    race: RaceRef
    bib: str
    purpose: Purpose
    expires_at: float


def runner_key(server_key: bytes) -> bytes:
    """The links' own key, derived from the server's, so a transform signature never passes for
    a runner token nor the other way round."""
    return hmac.new(server_key, _KEY_LABEL, hashlib.sha256).digest()


def issue(
    key: bytes,
    race: RaceRef,
    bib: str,
    *,
    purpose: Purpose,
    seconds: float,
    now: float | None = None,
) -> str:
    expires = int((time.time() if now is None else now) + seconds)
    body = {"s": race.service, "a": race.album, "b": bib, "p": purpose, "e": expires}
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_sign(key, payload)}"


def check(
    key: bytes, token: str, *, purpose: Purpose, now: float | None = None
) -> RunnerGrant | None:
    """The grant of a token that is ours, of ``purpose`` and not expired; None otherwise."""
    payload, dot, signature = token.partition(".")
    if not dot or len(token) > 1024:
        return None
    if not hmac.compare_digest(signature.encode(), _sign(key, payload).encode()):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        grant = RunnerGrant(
            RaceRef(str(body["s"]), str(body["a"])), str(body["b"]), body["p"], float(body["e"])
        )
    except (ValueError, KeyError, TypeError):
        return None
    if grant.purpose != purpose or (time.time() if now is None else now) >= grant.expires_at:
        return None
    return grant


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
