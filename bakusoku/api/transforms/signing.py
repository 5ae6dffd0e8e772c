"""Signatures of transform URLs: HMAC-SHA256 over the options and the photo, with a server key.

A URL is ``/img/{signature}/{options}/{photo_id}``. The key is the ``transform_signing_key``
setting, else one generated on first use and kept in ``data_dir/transform-key`` (like the admin
token); pages and clients get signed URLs from the API (or from :func:`signed_path` on a host
that holds the key), never the key itself. The signature is checked before anything else, so an
unsigned or tampered URL costs one HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bakusoku.config import ConfigError, Settings

TRANSFORM_PATH = "/img"
KEY_FILE_NAME = "transform-key"
MIN_KEY_LENGTH = 32
# 144 bits of HMAC: far beyond guessing, and 24 URL-safe characters.
_SIGNATURE_BYTES = 18


def sign(key: bytes, options: str, photo_id: str) -> str:
    """The URL-safe signature of ``options`` for ``photo_id``."""
    mac = hmac.new(key, f"{options}/{photo_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:_SIGNATURE_BYTES]).decode().rstrip("=")


def verify(key: bytes, signature: str, options: str, photo_id: str) -> bool:
    """Whether ``signature`` is ours for exactly these options and photo (constant time)."""
    return hmac.compare_digest(signature.encode(), sign(key, options, photo_id).encode())


def signed_path(key: bytes, options: str, photo_id: str) -> str:
    """``/img/{signature}/{options}/{photo_id}``: a path any page may put in ``src``."""
    return f"{TRANSFORM_PATH}/{sign(key, options, photo_id)}/{options}/{photo_id}"


def key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def ensure_signing_key(settings: Settings) -> bytes:
    """The signing key: the setting if given, else the one in ``data_dir`` (made on first use)."""
    if settings.transform_signing_key:
        if len(settings.transform_signing_key) < MIN_KEY_LENGTH:
            raise ConfigError(
                "setting 'transform_signing_key' is too short"
                f" ({len(settings.transform_signing_key)} characters): use at least"
                f" {MIN_KEY_LENGTH} random characters, e.g. `openssl rand -hex 32`"
            )
        return settings.transform_signing_key.encode()
    path = key_path(settings)
    if path.is_file():
        return path.read_text().strip().encode()
    key = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    # Two processes starting together: the first key written wins, both then read it.
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip().encode()
