"""Settings for a store process on free loopback ports, with its database migrated."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from bakusoku.config import Settings, ensure_credentials, load_settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def store_settings(data_dir: Path, **overrides: Any) -> Settings:
    """What ``bakusoku up`` would resolve for ``data_dir``, on free ports, the outbox ready."""
    settings = ensure_credentials(
        load_settings(
            {
                "data_dir": data_dir,
                "port": free_port(),
                "store_port": free_port(),
                "log_format": "text",
                **overrides,
            },
            environ={},
        )
    )
    engine = create_db_engine(settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    return settings
