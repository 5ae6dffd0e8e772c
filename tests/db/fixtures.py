"""Database fixtures shared by tests/db and tests/faults: one migrated database per kind and session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from tests.db.servers import ServerDatabase, create_database

KINDS = ["sqlite", "mariadb", "postgresql"]
SERVER_KINDS = ["mariadb", "postgresql"]


@pytest.fixture(scope="session")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Make an empty database of a kind and return its URL; every one is dropped at the end."""
    created: list[ServerDatabase] = []

    def make(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'bakusoku.db'}"
        database = create_database(kind)
        created.append(database)
        return database.url

    yield make
    for database in created:
        database.drop()


@pytest.fixture(scope="session")
def migrated_database(new_database: Callable[[str], str]) -> Callable[[str], str]:
    """The session's migrated database of a kind (made on first use)."""
    urls: dict[str, str] = {}

    def get(kind: str) -> str:
        if kind not in urls:
            url = new_database(kind)
            engine = create_db_engine(url)
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            urls[kind] = url
        return urls[kind]

    return get


@pytest.fixture(params=KINDS)
def db_url(request: pytest.FixtureRequest, migrated_database: Callable[[str], str]) -> str:
    """A migrated database URL, once per supported database."""
    return migrated_database(request.param)


@pytest.fixture(params=SERVER_KINDS)
def server_db_url(request: pytest.FixtureRequest, migrated_database: Callable[[str], str]) -> str:
    """A migrated MariaDB or PostgreSQL database URL."""
    return migrated_database(request.param)


def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
