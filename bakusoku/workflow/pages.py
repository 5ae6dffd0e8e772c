"""ListExecutions page tokens: an opaque keyset cursor (start date, name) bound to its filters.

Pages are read newest first by ``(started_at, name)`` and the token holds the last row's key, so
executions started while a client pages through (always newer) never shift or repeat a page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass

from bakusoku.workflow.errors import InvalidToken

# Step Functions' pagination tokens expire after 24 hours.
TOKEN_LIFETIME_SECONDS = 24 * 3600
_VERSION = 1


@dataclass(frozen=True)
class Cursor:
    """The key of the last execution of a page: the next page starts after it."""

    started_at: float
    name: str


def _filters_digest(filters: tuple[str | None, ...]) -> str:
    return hashlib.sha256(json.dumps(filters).encode()).hexdigest()[:16]


def encode_token(cursor: Cursor, filters: tuple[str | None, ...], now: float | None = None) -> str:
    """The opaque ``nextToken`` for the page after ``cursor`` under ``filters``."""
    body = {
        "v": _VERSION,
        "s": cursor.started_at,
        "n": cursor.name,
        "f": _filters_digest(filters),
        "t": int(now if now is not None else time.time()),
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    check = hashlib.sha256(raw).hexdigest()[:12]
    return base64.urlsafe_b64encode(raw + b"." + check.encode()).decode().rstrip("=")


def decode_token(token: str, filters: tuple[str | None, ...], now: float | None = None) -> Cursor:
    """The cursor in ``token``; InvalidToken when it is malformed, expired or for other filters."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = base64.urlsafe_b64decode(padded.encode("ascii"))
        raw, _, check = data.rpartition(b".")
        if hashlib.sha256(raw).hexdigest()[:12].encode() != check:
            raise ValueError("checksum")
        body = json.loads(raw)
        cursor = Cursor(float(body["s"]), str(body["n"]))
        version, digest, issued = body["v"], body["f"], float(body["t"])
    except (ValueError, TypeError, KeyError, UnicodeError) as exc:
        raise InvalidToken(
            "nextToken is not a token ListExecutions returned; "
            "pass it unchanged, or omit it to start from the first page"
        ) from exc
    if version != _VERSION:
        raise InvalidToken("nextToken is from another version; start again from the first page")
    if digest != _filters_digest(filters):
        raise InvalidToken(
            "nextToken was issued for other filters; pass the same state machine and "
            "status filter as the call that returned it"
        )
    if (now if now is not None else time.time()) - issued > TOKEN_LIFETIME_SECONDS:
        raise InvalidToken(
            "nextToken has expired (after 24 hours); start again from the first page"
        )
    return cursor
