"""The operators' admin token: from the ``admin_token`` setting, else kept in the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bakusoku.config import ConfigError, Settings

ADMIN_TOKEN_PREFIX = "bka_"
MIN_LENGTH = 24
FILE_NAME = "admin-token"


def admin_token_path(settings: Settings) -> Path:
    return settings.data_dir / FILE_NAME


def ensure_admin_token(settings: Settings) -> str:
    """The admin token: the setting if given, else the one in ``data_dir`` (made on first use)."""
    if settings.admin_token:
        if len(settings.admin_token) < MIN_LENGTH:
            raise ConfigError(
                f"setting 'admin_token' is too short ({len(settings.admin_token)} characters):"
                f" use at least {MIN_LENGTH} random characters, e.g. `openssl rand -hex 24`"
            )
        return settings.admin_token
    path = admin_token_path(settings)
    if path.is_file():
        return path.read_text().strip()
    token = ADMIN_TOKEN_PREFIX + secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    os.replace(tmp, path)
    return token
