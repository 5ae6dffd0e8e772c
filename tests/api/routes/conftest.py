"""A real ``bakusoku up`` with two services, for attacks on the routes: service ``school-a`` owns
what is attacked, service ``school-b`` attacks it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.routes.tenants import Tenants
from tests.e2e.server import RunningServer

BODY_TIMEOUT = 2
MAX_BODY_BYTES = 64 * 1024


@pytest.fixture(scope="session")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    server = RunningServer(
        tmp_path_factory.mktemp("tenants") / "data",
        workers=1,
        extra_env={
            "BAKUSOKU_API_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "BAKUSOKU_API_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            # the attacks open many runner and parent sessions from one address
            "BAKUSOKU_RUNNER_ATTEMPTS_PER_HOUR": "1000",
            "BAKUSOKU_CODE_ATTEMPTS_PER_MINUTE": "1000",
        },
    ).start()
    try:
        yield Tenants(
            server,
            a=server.create_key("school-a", role="admin"),
            b=server.create_key("school-b", role="admin"),
            a_other_album=server.create_key("school-a", role="admin", albums=("elsewhere",)),
        )
    finally:
        assert server.stop() == 0, server.log()
