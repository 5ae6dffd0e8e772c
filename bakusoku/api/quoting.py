"""What an error message may repeat of a request: a value of the shape asked for, never a secret.

A client that pastes an API key where an id goes (a path, a query parameter, a body field) must
not see it again in the answer, nor in any log or proxy that keeps answers. Messages repeat an id
or name only when it has the shape of one (``repeatable``), and every error body is passed
through ``redact`` before it is sent: anything shaped like a key, an admin token, a parent's
session, an album code or a runner's token, and the caller's own bearer token, becomes
``[redacted]``.
"""

from __future__ import annotations

import re

from bakusoku.auth.admin_token import ADMIN_TOKEN_PREFIX
from bakusoku.auth.codes import ALPHABET
from bakusoku.auth.keys import KEY_PREFIX
from bakusoku.auth.sessions import TOKEN_PREFIX as PARENT_SESSION_PREFIX

PHOTO_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Execution names: Step Functions' rule, which the embedded engine's names follow too.
EXECUTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
WORD = re.compile(r"[a-z][a-z0-9_.]{0,47}")
MEDIA_TYPE = re.compile(r"[a-z]{1,16}/[a-z0-9.+-]{1,48}")
REDACTED = "[redacted]"
_PREFIXED = "|".join(re.escape(p) for p in (KEY_PREFIX, ADMIN_TOKEN_PREFIX, PARENT_SESSION_PREFIX))
# An album code as it is printed (ABCD-EFGH-JKMN): upper case only, so lower-case names of that
# shape (race-team-west) stay; never part of a longer name or id.
_ALBUM_CODE = (
    rf"(?-i:(?<![A-Za-z0-9-])[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}(?![A-Za-z0-9-]))"
)
# A runner's signed link or session token: base64url JSON ('{"' is 'eyJ'), a dot, a signature.
_SIGNED_TOKEN = r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"
_SECRET = re.compile(rf"(?:{_PREFIXED})[A-Za-z0-9_-]*|{_ALBUM_CODE}|{_SIGNED_TOKEN}", re.IGNORECASE)


def looks_like_secret(text: str) -> bool:
    """Does ``text`` hold something shaped like a key, a token or an album code?"""
    return _SECRET.search(text) is not None


def repeatable(value: str, shape: re.Pattern[str]) -> bool:
    """May a message repeat ``value``? Only when it has ``shape`` and looks like no secret."""
    return shape.fullmatch(value) is not None and not looks_like_secret(value)


def redact(text: str, token: str | None = None) -> str:
    """``text`` without the caller's ``token`` and without anything shaped like a key."""
    if token and len(token) >= 8:
        text = text.replace(token, REDACTED)
    return _SECRET.sub(REDACTED, text)
