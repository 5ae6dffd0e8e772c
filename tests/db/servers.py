"""Throwaway databases on the local MariaDB and PostgreSQL servers (and SQLite files) for tests.

Each test session creates its own databases with a random name and drops them afterwards, so runs
never see each other's rows. Set BAKUSOKU_TEST_REQUIRE_SERVERS=1 (CI does) to fail instead of
skipping when a server is not reachable.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

MARIADB_ADMIN = os.environ.get("BAKUSOKU_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
POSTGRES_ADMINS = [
    os.environ.get("BAKUSOKU_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "postgresql+psycopg://root@127.0.0.1:5432/test",
]
REQUIRE = os.environ.get("BAKUSOKU_TEST_REQUIRE_SERVERS") == "1"


@dataclass
class ServerDatabase:
    """A database created for this test session on a real server."""

    kind: str  # mariadb | postgresql
    admin_url: str
    name: str

    @property
    def url(self) -> str:
        return sa.make_url(self.admin_url).set(database=self.name).render_as_string(False)

    def drop(self) -> None:
        drop_named(self.kind, self.admin_url, self.name)


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _reachable(url: str) -> bool:
    parsed = sa.make_url(url)
    try:
        socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 0), 1).close()
    except OSError:
        return False
    return True


def create_database(kind: str) -> ServerDatabase:
    """A fresh, empty database on the ``kind`` server, or skip (fail in CI) if none is reachable."""
    candidates = [MARIADB_ADMIN] if kind == "mariadb" else POSTGRES_ADMINS
    name = f"bakusoku_test_{uuid.uuid4().hex[:10]}"
    errors = []
    for admin in candidates:
        if not _reachable(admin):
            errors.append(f"{admin}: port closed")
            continue
        try:
            create_named(kind, admin, name)
        except sa.exc.DBAPIError as exc:
            errors.append(f"{admin}: {exc.orig}")
            continue
        return ServerDatabase(kind, admin, name)
    message = f"no {kind} server to test against: " + "; ".join(errors)
    if REQUIRE:
        pytest.fail(message)
    pytest.skip(message)


def create_named(kind: str, admin_url: str, name: str) -> None:
    """CREATE DATABASE ``name`` on the ``kind`` server ``admin_url`` reaches.

    MariaDB's gets the binary utf8mb4 collation, so keys compare byte for byte as elsewhere.
    """
    options = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" if kind == "mariadb" else ""
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}{options}")
    finally:
        engine.dispose()


def drop_named(kind: str, admin_url: str, name: str) -> None:
    """DROP DATABASE ``name`` if it exists, ending PostgreSQL's sessions on it first."""
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            if kind == "postgresql":
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    finally:
        engine.dispose()
