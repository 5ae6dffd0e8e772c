"""A worker process killed in the middle of a task: the photo still ends ready, with one set of renditions.

The MakeRenditions worker is killed (SIGKILL) after StorePhoto wrote the row, while it is rendering
(the 30 MP photo is decoded in its memory) and before it stored any print. Lambda reports the lost
invoke as Runtime.ExitError; the Retry rule runs MakeRenditions again in a fresh environment, which
writes the same rendition keys, so the store holds exactly the renditions the row lists.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer
from tests.faults.processes import (
    deployment_pids,
    execution,
    photo,
    recorded_renditions,
    rss_mb,
    stored_renditions,
    until,
    upload,
    wait_final,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc"),
]

# Four extra prints: the MakeRenditions that runs again must store all five prints, and no extra.
FIVE_PRINTS = {
    "BAKUSOKU_EXTRA_PRINTS": "print-2l=127:178,print-6x4=4:6,print-sq=1:1,print-a4=210:297",
    "BAKUSOKU_FACE_DETECTION": "0",
}
# A worker holds about 60 MB after init; decoding the 30 MP photo adds about 90 MB.
RENDERING_RSS_MB = 120


@pytest.mark.parametrize("kind", ["sqlite", "mariadb", "postgresql"])
def test_a_worker_killed_mid_rendering_converges_to_one_ready_photo(
    kind: str, migrated_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = migrated_database(kind)
    data_dir = tmp_path / "data"
    server = RunningServer(
        data_dir, workers=1, extra_env={"BAKUSOKU_DATABASE_URL": url, **FIVE_PRINTS}
    ).start()
    try:
        photo_id = upload(server, make_jpeg(6400, 4800), album="killed")

        def rendering() -> list[int]:  # the decoded photo is in the worker's memory
            workers = deployment_pids(data_dir, function="make-renditions")
            return workers if any(rss_mb(pid) > RENDERING_RSS_MB for pid in workers) else []

        workers = until(rendering, 45, "the MakeRenditions worker to decode the photo")
        for pid in workers:  # frozen while we look, then killed
            os.kill(pid, signal.SIGSTOP)
        assert photo(server, photo_id)["status"] == "processing"  # the row is written
        assert not [k for k in stored_renditions(data_dir, photo_id) if "/print" in k]
        for pid in workers:
            os.kill(pid, signal.SIGKILL)

        final = wait_final(server, photo_id, timeout=60)
        assert final["status"] == "ready", final
        history = execution(server, photo_id)
        assert history["execution"]["status"] == "SUCCEEDED"
        assert "Runtime.ExitError" in json.dumps(history), "the kill did not land in a task"
        recorded = recorded_renditions(url, photo_id)
        assert recorded and stored_renditions(data_dir, photo_id) == recorded
        assert len([k for k in recorded if "/print" in k]) == 5
    finally:
        assert server.stop() == 0, server.log()
