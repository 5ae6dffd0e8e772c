"""An execution left in progress by a crashed engine does not block its retry forever.

``bakusoku up`` is killed (SIGKILL, with its object store and workers: a machine that lost power)
while a photo's execution is in its MakeRenditions task. The database keeps the execution RUNNING
and claimed by the dead engine. A restarted ``bakusoku up`` on the same data directory and database
takes the claim over once its lease has run out, runs the task again and the photo ends ready: one
execution, one set of renditions.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.workflow.tables import executions
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer
from tests.faults.processes import (
    deployment_pids,
    execution,
    kill_all,
    photo,
    recorded_renditions,
    stored_renditions,
    until,
    upload,
    wait_final,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc"),
]

# The engine's lease on a running execution (bakusoku/workflow/engine.py), plus the time to run
# the rest of the photo's pipeline on a busy machine.
LEASE_SECONDS = 30
RESUME_BUDGET_SECONDS = LEASE_SECONDS + 25


def _execution_row(url: str, photo_id: str) -> Any:
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.select(executions.c.status, executions.c.owner).where(
                    executions.c.name.like(f"{photo_id}%")
                )
            ).one()
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "mariadb", "postgresql"])
def test_an_execution_left_running_by_a_killed_engine_resumes_after_restart(
    kind: str, migrated_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = migrated_database(kind)
    data_dir = tmp_path / "data"
    env = {"BAKUSOKU_DATABASE_URL": url, "BAKUSOKU_FACE_DETECTION": "0"}
    first = RunningServer(data_dir, workers=1, extra_env=env).start()
    try:
        photo_id = upload(first, make_jpeg(6400, 4800), album="crash")
        until(
            lambda: deployment_pids(data_dir, function="make-renditions"),
            45,
            "MakeRenditions to start",
        )
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        kill_all(deployment_pids(data_dir))  # the store and the workers go down with the machine
        until(lambda: not deployment_pids(data_dir), 10, "every process to be gone")
    finally:
        if first.process is not None and first.process.poll() is None:
            first.process.kill()
            first.process.wait()

    left = _execution_row(url, photo_id)
    assert left.status == "RUNNING" and left.owner, left  # in progress, claimed by the dead engine

    second = RunningServer(
        data_dir, workers=1, extra_env={**env, "BAKUSOKU_ADMIN_TOKEN": first.admin_token}
    ).start()
    try:
        restarted = time.monotonic()
        # Still processing, or already resumed to the end while the new engine was starting.
        assert photo(second, photo_id)["status"] in ("processing", "ready")
        final = wait_final(second, photo_id, timeout=RESUME_BUDGET_SECONDS)
        resumed_after = time.monotonic() - restarted
        assert final["status"] == "ready", final
        history = execution(second, photo_id)
        assert history["execution"]["status"] == "SUCCEEDED"
        assert _execution_row(url, photo_id).status == "SUCCEEDED"
        recorded = recorded_renditions(url, photo_id)
        assert recorded and stored_renditions(data_dir, photo_id) == recorded
        assert resumed_after < RESUME_BUDGET_SECONDS
    finally:
        assert second.stop() == 0, second.log()
