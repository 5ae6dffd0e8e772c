"""What an error message may repeat of a request: a value of the shape asked for, never a secret.

A client that pastes an API key where an id goes (a path, a query parameter, a body field) must
not see it again in the answer, nor in any log or proxy that keeps answers. Messages repeat an id
or name only when it has the shape of one (``repeatable``), and every error body is passed
through ``redact`` before it is sent: anything shaped like a key, an admin token, a parent's
session, an album code or a runner's token, or like a key's secret without its prefix, and any
part of the caller's own Authorization header or of the admin token, becomes ``[redacted]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bakusoku.auth.admin_token import ADMIN_TOKEN_PREFIX
from bakusoku.auth.codes import ALPHABET
from bakusoku.auth.keys import KEY_PREFIX, SECRET_LENGTH
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
# A key's, session's or admin token's secret without its prefix (maybe with its hex id): a word
# of exactly that many base64url characters with both cases, which a random secret has all but
# always (no upper-case letter in 43: about 2e-10) and the names messages repeat rarely do
# (execution names are a file's name and hex, albums and races are named by people).
_BARE_SECRET = (
    rf"(?-i:(?<![A-Za-z0-9_-])(?:[0-9a-f]{{12,18}}_)?"
    rf"(?=[A-Za-z0-9_-]{{0,{SECRET_LENGTH - 1}}}[A-Z])(?=[A-Za-z0-9_-]{{0,{SECRET_LENGTH - 1}}}[a-z])"
    rf"[A-Za-z0-9_-]{{{SECRET_LENGTH}}}(?![A-Za-z0-9_-]))"
)
_SECRET = re.compile(
    rf"(?:{_PREFIXED})[A-Za-z0-9_-]*|{_ALBUM_CODE}|{_SIGNED_TOKEN}|{_BARE_SECRET}", re.IGNORECASE
)
# A run of this many characters found in a credential is a part of it: shorter runs turn up in
# plain words by chance.
MIN_SHARED = 8


def looks_like_secret(text: str) -> bool:
    """Does ``text`` hold something shaped like a key, a token or an album code?"""
    return _SECRET.search(text) is not None


def holds_secret(text: str, *credentials: str | None) -> bool:
    """Would ``redact`` change ``text``: does it hold a part of ``credentials`` (a request's
    Authorization header) or anything shaped like a key or token?"""
    return redact(text, *credentials) != text


def repeatable(value: str, shape: re.Pattern[str]) -> bool:
    """May a message repeat ``value``? Only when it has ``shape`` and looks like no secret."""
    return shape.fullmatch(value) is not None and not looks_like_secret(value)


def redact(text: str, *credentials: str | None) -> str:
    """``text`` without any part of ``credentials`` and without anything shaped like a key.

    ``credentials`` are what the request carried (its Authorization header) and what the server
    holds (the admin token): a pasted secret is redacted whole, or cut, or without its prefix.
    """
    return _SECRET.sub(REDACTED, _without_shared(text, [c for c in credentials if c]))


def _without_shared(text: str, credentials: Iterable[str]) -> str:
    """``text`` with every run of ``MIN_SHARED`` or more characters found in a credential
    redacted. Runs are found as windows of ``MIN_SHARED`` characters, so the cost grows with the
    lengths of the text and the credentials, never with their product."""
    windows = {
        word[i : i + MIN_SHARED]
        for credential in credentials
        for word in credential.split()  # "Bearer" and the like stand apart from the secret
        for i in range(len(word) - MIN_SHARED + 1)
    }
    covered = [False] * len(text)
    for i in range(len(text) - MIN_SHARED + 1):
        if text[i : i + MIN_SHARED] in windows:
            covered[i : i + MIN_SHARED] = [True] * MIN_SHARED
    if not any(covered):
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        if not covered[i]:
            out.append(char)
        elif i == 0 or not covered[i - 1]:
            out.append(REDACTED)
    return "".join(out)
