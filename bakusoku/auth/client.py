"""The API key command-line clients send: ``--key``, else the environment, else the local token."""

from __future__ import annotations

import os
from pathlib import Path

from bakusoku.auth.admin_token import FILE_NAME
from bakusoku.config import Settings, env_name

API_KEY_ENV = "BAKUSOKU_API_KEY"


def resolve_api_key(explicit: str | None = None, data_dir: Path | None = None) -> str | None:
    """``explicit``, ``BAKUSOKU_API_KEY``, ``BAKUSOKU_ADMIN_TOKEN``, or the admin token that
    ``bakusoku up`` keeps in the data directory (readable only by the user who runs it)."""
    admin_token = os.environ.get(env_name("admin_token"))
    for value in (explicit, os.environ.get(API_KEY_ENV), admin_token):
        if value:
            return value.strip()
    folder = data_dir or Path(os.environ.get(env_name("data_dir"), str(Settings.data_dir)))
    path = folder / FILE_NAME
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def auth_headers(key: str | None) -> dict[str, str]:
    """Headers for API requests only: never send them to the object store."""
    return {"Authorization": f"Bearer {key}"} if key else {}
