"""SQLite engines: WAL for every connection, commits synced to disk for the durable ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine, sqlite_url

pytestmark = pytest.mark.integration

SYNC_NORMAL, SYNC_FULL = 1, 2  # what PRAGMA synchronous answers


def _pragmas(engine: sa.Engine) -> tuple[str, int]:
    with engine.connect() as conn:
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
    engine.dispose()
    return str(journal), int(synchronous)


def test_a_durable_engine_syncs_every_commit_and_the_default_one_at_checkpoints(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path)

    durable = _pragmas(create_db_engine(url, durable=True))
    default = _pragmas(create_db_engine(url))

    assert durable == ("wal", SYNC_FULL)
    assert default == ("wal", SYNC_NORMAL)  # on the same file: the setting is per connection
