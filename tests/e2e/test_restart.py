"""Restarting ``bakusoku up`` on the same data directory keeps every photo and execution."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer
from tests.e2e.test_pipeline_end_to_end import upload, wait_final

pytestmark = pytest.mark.integration

# The same generated photo is uploaded several times into one album, each time to be processed.
NO_DUPLICATES = {"BAKUSOKU_MARK_DUPLICATES": "0"}


def test_photos_and_executions_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = RunningServer(data_dir, extra_env=NO_DUPLICATES).start()
    try:
        done = upload(first.api, make_jpeg(1200, 900), album="restart")
        assert wait_final(first.api, done)["status"] == "ready"
        # uploaded just before the stop: its processing is cut short and must resume later
        in_flight = [upload(first.api, make_jpeg(3000, 2000), album="restart") for _ in range(4)]
    finally:
        assert first.stop() == 0, first.log()

    second = RunningServer(data_dir, extra_env=NO_DUPLICATES).start()
    try:
        photo = httpx.get(f"{second.api}/v1/photos/{done}", headers=second.headers).json()
        assert photo["status"] == "ready"
        image = httpx.get(photo["renditions"]["preview"]["url"])
        assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
        execution = httpx.get(
            f"{second.api}/v1/photos/{done}/execution", headers=second.headers
        ).json()
        assert execution["execution"]["status"] == "SUCCEEDED"
        for photo_id in in_flight:
            assert wait_final(second.api, photo_id)["status"] == "ready"
    finally:
        assert second.stop() == 0, second.log()
