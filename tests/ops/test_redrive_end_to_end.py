"""A failed photo whose cause was fixed is re-driven (API and CLI) and ends ready, on a real stack.

The first ``bakusoku up`` asks for a print size the photos do not reach, so they fail
``image.too_small`` through the pipeline's Catch; the second runs with the default, and the
re-drives process them again in new executions.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bakusoku.ops.redrive import redrive_name
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer
from tests.ops.test_ops_end_to_end import cli, upload, wait_final

pytestmark = pytest.mark.integration


def rendition_files(data_dir: Path, photo_id: str) -> list[str]:
    return sorted(p.name for p in (data_dir / "objects").rglob(f"renditions/*/{photo_id}/*"))


def test_a_fixed_failure_is_redriven_to_ready_by_api_and_cli(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    strict = RunningServer(data_dir, extra_env={"BAKUSOKU_MIN_PRINT_SHORT_EDGE": "2000"}).start()
    try:
        by_api, _ = upload(strict.api, make_jpeg(1600, 1200), "sports-day")
        by_cli, _ = upload(strict.api, make_jpeg(1200, 1600), "sports-day")
        failed = {p: wait_final(strict.api, p) for p in (by_api, by_cli)}
    finally:
        assert strict.stop() == 0
    for photo in failed.values():
        assert photo["status"] == "failed" and photo["error"]["code"] == "image.too_small"

    server = RunningServer(data_dir).start()  # the default minimum: both photos are printable
    try:
        api = server.api
        first = failed[by_api]["execution_name"]
        answer = httpx.post(f"{api}/v1/executions/{first}/redrive", headers=server.headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        new = redrive_name(first, 1)
        assert body["action"] == "reprocessed" and body["started"] is True
        assert body["name"] == new and body["redriven_from"] == first
        assert body["photo_id"] == by_api
        # Asked again at once: the running re-drive answers, or (if it already ended) a 409 that
        # says so; never a second new execution.
        again = httpx.post(f"{api}/v1/executions/{first}/redrive", headers=server.headers)
        if again.status_code == 200:
            assert again.json()["name"] == new and again.json()["started"] is False
        else:
            assert again.json()["error"]["code"] == "execution.already_reprocessed"

        second = failed[by_cli]["execution_name"]
        printed = cli(api, "redrive", second)
        assert f"reprocessed {second} as {redrive_name(second, 1)}" in printed

        for photo_id, old in ((by_api, first), (by_cli, second)):
            photo = wait_final(api, photo_id)
            assert photo["status"] == "ready", photo
            assert photo["execution_name"] == redrive_name(old, 1)
            assert photo["error"] is None
            # Exactly one set of renditions: one file per rendition, none twice.
            files = rendition_files(server.data_dir, photo_id)
            assert files and Counter(files).most_common(1)[0][1] == 1
            assert len(files) == len(photo["renditions"])
            runs = httpx.get(
                f"{api}/v1/executions", params={"photo": photo_id}, headers=server.headers
            )
            assert {e["name"] for e in runs.json()["items"]} == {old, redrive_name(old, 1)}
        wait_ended(api, server.headers)

        shown = cli(api, "executions", "show", first)
        assert f"re-driven  as {new}" in shown
        # Every failed execution was reprocessed and succeeded: --all-failed has nothing to start.
        summary = cli(api, "redrive", "--all-failed", "--since", "1h")
        assert "2 executions: 0 reprocessed as new executions" in summary
        assert "2 already reprocessed, 0 not re-driven" in summary

        audit = httpx.get(
            f"{api}/v1/audit", params={"action": "execution.redrive"}, headers=server.headers
        ).json()["items"]
        started = [
            (e["target"], e["details"]["execution"]) for e in audit if e["details"]["started"]
        ]
        assert sorted(started) == sorted([(first, new), (second, redrive_name(second, 1))])
        assert all(
            e["actor"] and e["at"] and e["details"]["action"] == "reprocessed" for e in audit
        )
    finally:
        assert server.stop() == 0


def wait_ended(api: str, headers: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        running: Any = httpx.get(
            f"{api}/v1/executions", params={"status": "RUNNING"}, headers=headers
        ).json()["items"]
        if not running:
            return
        assert time.monotonic() < deadline, running
        time.sleep(0.2)
