"""A real ``bakusoku up`` with tight connection bounds and a service's keys, for the API's limits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.db.fixtures import migrated_database, new_database
from tests.e2e.server import RunningServer

__all__ = ["Bounded", "migrated_database", "new_database"]

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
IDLE_TIMEOUT = 2
MAX_CONNECTIONS = 24
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024


@dataclass
class Bounded:
    server: RunningServer
    key: str  # an admin key of service school-a
    sports_viewer: str  # a viewer key of school-a's album sports

    @property
    def api(self) -> str:
        return self.server.api

    @property
    def port(self) -> int:
        return self.server.port


@pytest.fixture(scope="session")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bounded]:
    server = RunningServer(
        tmp_path_factory.mktemp("bounded") / "data",
        workers=1,
        extra_env={
            "BAKUSOKU_API_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            "BAKUSOKU_API_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "BAKUSOKU_API_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
            "BAKUSOKU_API_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
            "BAKUSOKU_API_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "BAKUSOKU_API_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
        },
    ).start()
    try:
        yield Bounded(
            server,
            server.create_key("school-a", role="admin"),
            server.create_key("school-a", role="viewer", albums=("sports",)),
        )
    finally:
        assert server.stop() == 0, server.log()
