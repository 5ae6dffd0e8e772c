"""The database goes away for 30 s in the middle of a burst: every photo still ends ready or failed.

The test cuts every connection at a TCP proxy it controls (safer than stopping the shared server):
running transactions fail, new connections are refused. Tasks fail with DatabaseUnavailableError,
the Retry rules and the engine's sweep finish them once the database is back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.workflow.tables import executions
from tests.conftest import make_jpeg
from tests.faults.proxy import TcpProxy
from tests.faults.stack import (
    assert_one_set_of_renditions,
    executions_for,
    make_stack,
    stored_event,
    wait_all_final,
)

# Mostly the outage itself, waited out: run beside the rest (`clock`).
pytestmark = [pytest.mark.integration, pytest.mark.clock]

OUTAGE_SECONDS = float(os.environ.get("BAKUSOKU_TEST_OUTAGE_SECONDS", "30"))
PHOTOS = 12


@pytest.mark.parametrize("kind", ["mariadb", "postgresql"])
def test_a_database_outage_mid_burst_loses_and_duplicates_nothing(
    kind: str, migrated_database: Callable[[str], str], tmp_path: Path
) -> None:
    direct_url = migrated_database(kind)
    parsed = sa.make_url(direct_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 0).start()
    proxied = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    stack = make_stack(tmp_path / "data", proxied, db_retry_seconds=5, db_wait_seconds=5)
    direct = create_db_engine(direct_url)
    stack.start()
    try:
        ids = []
        for index in range(PHOTOS):  # distinct photos: none is a duplicate of another
            photo_id, event = stored_event(stack, make_jpeg(2000 + index, 1500), album="outage")
            stack.outbox.append(event)
            ids.append(photo_id)
        stack.trigger.wake()
        time.sleep(1.5)  # the burst is under way
        proxy.cut()
        time.sleep(OUTAGE_SECONDS)
        proxy.restore()
        statuses = wait_all_final(direct, ids, timeout=240)
        assert len(statuses) == PHOTOS
        assert set(statuses.values()) <= {"ready", "failed"}, statuses
        for photo_id in ids:
            runs = executions_for(direct, photo_id)
            assert len(runs) == 1 and runs[0].status in ("SUCCEEDED", "FAILED"), runs
            if statuses[photo_id] == "ready":
                assert_one_set_of_renditions(stack, "outage", photo_id)
        with direct.connect() as conn:
            stuck = conn.execute(
                sa.select(sa.func.count()).where(executions.c.status == "RUNNING")
            ).scalar()
        assert stuck == 0
    finally:
        stack.stop()
        proxy.cut()
        direct.dispose()
