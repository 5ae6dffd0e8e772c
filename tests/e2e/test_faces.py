"""Face search through a running `bakusoku up`: real photos through the real pipeline (MakeRenditions
cuts the faces, IndexFaces indexes them beside MarkReady), searched, hidden and erased over the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.server import RunningServer, auth, ended_execution
from tests.e2e.test_pipeline_end_to_end import upload, wait_final
from tests.faces.conftest import needs_models, photo

pytestmark = [pytest.mark.integration, needs_models]

SERVICE = "e2e"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("faces") / "data").start()
    yield running
    assert running.stop() == 0, running.log()


def indexed(api: str, photo_id: str, timeout: float = 120) -> dict[str, Any]:
    """The photo's faces once IndexFaces has recorded them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = httpx.get(
            f"{api}/v1/photos/{photo_id}/faces", headers=auth(api)
        ).json()
        if body["face_index"] is not None:
            return body
        time.sleep(0.2)
    raise AssertionError(f"photo {photo_id}'s faces were not indexed in {timeout} s")


def search(
    server: RunningServer, album: str, reference: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    params = {"service": SERVICE} if headers is None else {}
    return httpx.post(
        f"{server.api}/v1/albums/{album}/faces/search",
        params=params,
        files=[("reference", (f"{reference}.jpg", photo(reference), "image/jpeg"))],
        headers=headers or auth(server.api),
        timeout=60,
    )


def album_of(server: RunningServer, album: str) -> dict[str, str]:
    ids = {
        name: upload(server.api, photo(name), album=album) for name in ("obama", "obama2", "biden")
    }
    for photo_id in ids.values():
        assert wait_final(server.api, photo_id)["status"] == "ready"
        assert indexed(server.api, photo_id)["face_index"] == "indexed"
    return ids


def test_a_childs_photos_are_found_by_a_reference_photo(server: RunningServer) -> None:
    ids = album_of(server, "faces-search")
    execution = ended_execution(server.api, ids["obama"])
    entered = {
        e["details"]["name"] for e in execution["events"] if e["type"].endswith("StateEntered")
    }
    assert {"MakeRenditions", "Finish", "MarkReady", "IndexFaces"} <= entered
    assert "FacesUnindexed" not in entered
    faces = indexed(server.api, ids["obama"])["items"]
    assert len(faces) == 1 and faces[0]["embedded"] and not faces[0]["do_not_publish"]
    response = search(server, "faces-search", "obama3")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {i["photo_id"] for i in items} == {ids["obama"], ids["obama2"]}
    assert all(0.8 <= i["confidence"] <= 1 and len(i["box"]) == 4 for i in items)
    assert items[0]["confidence"] >= items[-1]["confidence"]


def test_another_services_key_finds_nothing_of_the_album(server: RunningServer) -> None:
    album_of(server, "faces-tenant")
    other = {"Authorization": f"Bearer {server.create_key('other-studio', role='viewer')}"}
    response = search(server, "faces-tenant", "obama3", headers=other)
    assert response.status_code == 200  # its own album of that name: empty, not the e2e one
    assert response.json()["items"] == []
    scoped = {
        "Authorization": "Bearer "
        + server.create_key(SERVICE, role="viewer", albums=("somewhere-else",))
    }
    refused = search(server, "faces-tenant", "obama3", headers=scoped)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "album.not_found"


def test_an_erased_child_is_not_found_and_the_erasure_is_audited(server: RunningServer) -> None:
    ids = album_of(server, "faces-erase")
    face_id = indexed(server.api, ids["obama2"])["items"][0]["face_id"]
    viewer = {"Authorization": f"Bearer {server.create_key(SERVICE, role='viewer')}"}
    url = f"{server.api}/v1/albums/faces-erase/faces/{face_id}"
    assert httpx.delete(url, params={"child": "true"}, headers=viewer).status_code == 403
    erased = httpx.delete(
        url, params={"child": "true", "service": SERVICE}, headers=auth(server.api)
    )
    assert erased.status_code == 200, erased.text
    assert set(erased.json()["photo_ids"]) == {ids["obama"], ids["obama2"]}
    assert search(server, "faces-erase", "obama3").json()["items"] == []
    found = search(server, "faces-erase", "biden").json()["items"]
    assert [i["photo_id"] for i in found] == [ids["biden"]]
    log = httpx.get(
        f"{server.api}/v1/audit", params={"action": "face.erase"}, headers=auth(server.api)
    ).json()
    assert any(e["target"] == f"faces-erase/{face_id}" for e in log["items"])


def test_do_not_publish_hides_the_photo_from_search(server: RunningServer) -> None:
    ids = album_of(server, "faces-consent")
    face_id = indexed(server.api, ids["obama"])["items"][0]["face_id"]
    url = f"{server.api}/v1/albums/faces-consent/faces/{face_id}/do-not-publish"
    marked = httpx.post(url, params={"service": SERVICE}, headers=auth(server.api))
    assert marked.status_code == 200, marked.text
    found = search(server, "faces-consent", "obama3").json()["items"]
    assert [i["photo_id"] for i in found] == [ids["obama2"]]


def test_deleting_a_photo_deletes_its_faces(server: RunningServer) -> None:
    ids = album_of(server, "faces-delete")
    deleted = httpx.delete(f"{server.api}/v1/photos/{ids['obama']}", headers=auth(server.api))
    assert deleted.status_code == 204, deleted.text
    found = search(server, "faces-delete", "obama3").json()["items"]
    assert [i["photo_id"] for i in found] == [ids["obama2"]]
    log = httpx.get(
        f"{server.api}/v1/audit", params={"action": "photo.delete"}, headers=auth(server.api)
    ).json()
    entry = next(e for e in log["items"] if e["details"]["photo_id"] == ids["obama"])
    assert entry["details"]["faces"] == 1


def test_the_command_line_reindexes_a_photo_and_erases_a_child(server: RunningServer) -> None:
    ids = album_of(server, "faces-cli")
    data_dir = ("--data-dir", str(server.data_dir))
    before = indexed(server.api, ids["obama"])["items"][0]["face_id"]
    assert "1 faces indexed" in server.run_cli("faces", "reindex", ids["obama"], *data_dir)
    face_id = indexed(server.api, ids["obama"])["items"][0]["face_id"]
    assert face_id != before  # indexed again from its face cut
    found = search(server, "faces-cli", "obama3").json()["items"]
    assert {i["photo_id"] for i in found} == {ids["obama"], ids["obama2"]}
    args = ("--service", SERVICE, "--album", "faces-cli", "--child")
    out = server.run_cli("faces", "erase", face_id, *args, *data_dir)
    assert "erased 2 faces from 2 photos" in out
    assert search(server, "faces-cli", "obama3").json()["items"] == []


def test_a_face_indexing_failure_leaves_the_photo_ready_and_unindexed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # No detection, so no face cuts: IndexFaces fails without retries (FaceIndexError), its Catch
    # records the reason, and the renditions are kept and shown.
    running = RunningServer(
        tmp_path_factory.mktemp("unindexed") / "data",
        extra_env={"BAKUSOKU_FACE_DETECTION": "0"},
    ).start()
    try:
        photo_id = upload(running.api, photo("obama"), album="faces-unindexed")
        ready = wait_final(running.api, photo_id)
        assert ready["status"] == "ready" and ready["renditions"]
        faces = indexed(running.api, photo_id)
        assert faces["face_index"] == "unindexed" and faces["items"] == []
        shown = httpx.get(f"{running.api}/v1/photos/{photo_id}", headers=auth(running.api)).json()
        assert "face detector is not installed" in shown["face_index_error"]
        events = ended_execution(running.api, photo_id)["events"]
        entered = [e["details"]["name"] for e in events if e["type"].endswith("StateEntered")]
        assert "FacesUnindexed" in entered and "MarkFailed" not in entered
        assert entered.count("IndexFaces") == 1
    finally:
        assert running.stop() == 0, running.log()
