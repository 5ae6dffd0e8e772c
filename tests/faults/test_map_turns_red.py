"""A worker killed mid-task turns its edge of the live map red, and the photo still ends ready."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from bakusoku.graph.svg import FAILING, HEALTHY
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer, auth
from tests.faults.processes import deployment_pids, rss_mb, until, upload, wait_final

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc"),
]

RENDERING_RSS_MB = 120  # a worker decoding the 30 MP photo (tests/faults/test_worker_killed.py)
EDGE = "PhotoPipeline_MakeRenditions->MakeRenditionsFunction:invokes"


def edge(server: RunningServer, key: str) -> dict[str, Any]:
    response = httpx.get(f"{server.api}/v1/graph", headers=auth(server.api), timeout=30)
    assert response.status_code == 200, response.text
    stats: dict[str, Any] = response.json()["stats"][key]
    return stats


def test_killing_the_rendering_worker_turns_its_edge_red(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = RunningServer(data_dir, workers=1, extra_env={"BAKUSOKU_FACE_DETECTION": "0"}).start()
    try:
        first = upload(server, make_jpeg(1200, 900), album="map")
        assert wait_final(server, first, timeout=60)["status"] == "ready"
        assert edge(server, EDGE)["colour"] == HEALTHY

        photo_id = upload(server, make_jpeg(6400, 4800), album="map")

        def rendering() -> list[int]:
            workers = deployment_pids(data_dir, function="make-renditions")
            return workers if any(rss_mb(pid) > RENDERING_RSS_MB for pid in workers) else []

        for pid in until(rendering, 45, "the MakeRenditions worker to decode the photo"):
            os.kill(pid, signal.SIGKILL)
        assert wait_final(server, photo_id, timeout=60)["status"] == "ready"

        killed = edge(server, EDGE)
        assert (killed["count"], killed["errors"]) == (3, 1)  # the lost call, then its retry
        assert killed["colour"] == FAILING
    finally:
        assert server.stop() == 0, server.log()
