"""Typed errors of access control; messages say what to do and never contain a key or token."""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class AuthError(BakusokuError):
    """Base class of access-control errors."""

    code = "auth.error"


class KeyNotFoundError(AuthError):
    """No key with this id exists (in the caller's service)."""

    code = "key.not_found"


class InvalidKeySpecError(AuthError):
    """A key was asked for with a bad service, album or role."""

    code = "key.invalid"


class CodeNotFoundError(AuthError):
    """No album code with this id exists (in the caller's service)."""

    code = "code.not_found"


class InvalidCodeSpecError(AuthError):
    """An album code was asked for with a bad service, album or expiry."""

    code = "code.invalid_spec"
