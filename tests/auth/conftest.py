"""A real ``bakusoku up`` with two services' keys and photos of the first service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def presign(api: str, key: str, data: bytes, album: str = "sports", **extra: Any) -> httpx.Response:
    body = {"filename": "IMG_0001.jpg", "content_type": "image/jpeg", "size": len(data)}
    return httpx.post(
        f"{api}/v1/uploads", json={**body, "album": album, **extra}, headers=bearer(key)
    )


def upload(api: str, key: str, data: bytes, album: str = "sports") -> str:
    grant = presign(api, key, data, album)
    assert grant.status_code == 201, grant.text
    upload = grant.json()["upload"]
    stored = httpx.put(upload["url"], content=data, headers=upload["headers"])
    assert stored.status_code == 200, stored.text
    return str(grant.json()["photo_id"])


def _wait_execution_ended(api: str, key: str, photo_id: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        response = httpx.get(f"{api}/v1/photos/{photo_id}/execution", headers=bearer(key))
        assert response.status_code == 200, response.text
        if response.json()["execution"]["status"] != "RUNNING":
            return
        time.sleep(0.05)
    raise AssertionError(f"photo {photo_id}'s execution did not end")


def settled(api: str, key: str, photo_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        photo: dict[str, Any] = httpx.get(f"{api}/v1/photos/{photo_id}", headers=bearer(key)).json()
        if photo["status"] in ("ready", "failed", "duplicate"):
            # Faces and bibs are recorded in Parallel branches that may end after the photo is
            # ready (and its files may still be written): settled means its execution ended.
            _wait_execution_ended(api, key, photo_id, deadline)
            settled_photo: dict[str, Any] = httpx.get(
                f"{api}/v1/photos/{photo_id}", headers=bearer(key)
            ).json()
            return settled_photo
        time.sleep(0.2)
    raise AssertionError(f"photo {photo_id} did not settle")


@dataclass
class World:
    server: RunningServer
    a_admin: str  # service school-a, every album
    a_sports_viewer: str
    a_sports_uploader: str
    a_trips_viewer: str
    b_admin: str  # service school-b
    ready: dict[str, Any]  # a ready photo of school-a/sports
    failed: dict[str, Any]  # a failed photo of school-a/sports (re-drivable)

    @property
    def api(self) -> str:
        return self.server.api


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = RunningServer(
        tmp_path_factory.mktemp("auth") / "data",
        extra_env={
            "BAKUSOKU_MARK_DUPLICATES": "0",
            "BAKUSOKU_PRESIGN_RATE_PER_MINUTE": "60",
            "BAKUSOKU_PRESIGN_BURST": "20",
        },
    ).start()
    try:
        a_admin = server.create_key("school-a", role="admin")
        ready_id = upload(server.api, a_admin, make_jpeg(900, 600))
        failed_id = upload(server.api, a_admin, make_jpeg(900, 600)[:3000])
        world = World(
            server=server,
            a_admin=a_admin,
            a_sports_viewer=server.create_key("school-a", role="viewer", albums=("sports",)),
            a_sports_uploader=server.create_key("school-a", role="uploader", albums=("sports",)),
            a_trips_viewer=server.create_key("school-a", role="viewer", albums=("trips",)),
            b_admin=server.create_key("school-b", role="admin"),
            ready=settled(server.api, a_admin, ready_id),
            failed=settled(server.api, a_admin, failed_id),
        )
        assert world.ready["status"] == "ready" and world.failed["status"] == "failed"
        yield world
    finally:
        assert server.stop() == 0, server.log()
