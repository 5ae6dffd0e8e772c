"""SQLite engines: WAL for every connection, commits synced to disk for the durable ones. Server
databases: an answer that never comes fails as a lost connection after the engine's bound."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine, sqlite_url
from bakusoku.db.retry import is_transient
from tests.faults.proxy import TcpProxy

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


ANSWER_TIMEOUT = 1


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_statement_the_server_never_answers_fails_as_a_lost_connection_in_time(
    new_database: Callable[[str], str], kind: str
) -> None:
    """A hung server, or a black hole behind a proxy that keeps TCP open: the pool's open
    connection waited for its answer without end."""
    url = sa.make_url(new_database(kind))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 0).start()
    engine = create_db_engine(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(False),
        answer_timeout=ANSWER_TIMEOUT,
    )
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
            proxy.stall()
            started = time.monotonic()
            with pytest.raises(sa.exc.OperationalError) as failed:
                conn.exec_driver_sql("SELECT 2")
            took = time.monotonic() - started
        assert ANSWER_TIMEOUT <= took < ANSWER_TIMEOUT + 5, took
        assert is_transient(failed.value), failed.value
        proxy.resume()
        with engine.connect() as conn:  # the stalled connection was dropped, not reused
            assert conn.exec_driver_sql("SELECT 3").scalar_one() == 3
    finally:
        proxy.resume()
        engine.dispose()
        proxy.cut()
