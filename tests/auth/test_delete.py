"""DELETE /v1/photos/{id}: admins of the photo's service remove it for good, and it is audited."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bakusoku.api.schemas import PhotoView
from tests.auth.conftest import World, bearer, presign, settled, upload
from tests.conftest import make_jpeg

pytestmark = pytest.mark.integration


def _photo(world: World, photo_id: str) -> httpx.Response:
    return httpx.get(f"{world.api}/v1/photos/{photo_id}", headers=bearer(world.a_admin))


def _delete(world: World, key: str, photo_id: str) -> httpx.Response:
    return httpx.delete(f"{world.api}/v1/photos/{photo_id}", headers=bearer(key))


def _stored_files(world: World, photo: dict[str, Any]) -> list[str]:
    """The photo's files in the store's data directory: its original and its renditions."""
    objects = world.server.data_dir / "objects" / "bakusoku"
    found = [photo["key"]] if (objects / photo["key"]).is_file() else []
    renditions = objects / "renditions" / photo["album"] / photo["photo_id"]
    if renditions.is_dir():
        found += [str(p.relative_to(objects)) for p in renditions.rglob("*") if p.is_file()]
    return found


def test_admin_deletes_a_photo_its_files_links_row_and_the_audit_entry(world: World) -> None:
    api = world.api
    photo = settled(api, world.a_admin, upload(api, world.a_admin, make_jpeg(900, 600)))
    photo_id = photo["photo_id"]
    assert photo["status"] == "ready"
    PhotoView.model_validate(photo, strict=True)  # a ready photo is as /openapi.json describes it
    links = [r["url"] for r in photo["renditions"].values()]
    original = httpx.get(f"{api}/v1/photos/{photo_id}/original", headers=bearer(world.a_admin))
    links.append(original.json()["url"])
    assert all(httpx.get(url).status_code == 200 for url in links)
    assert len(_stored_files(world, photo)) == len(photo["renditions"]) + 1

    # Keys that cannot delete it change nothing: other albums and services see no photo at all.
    missing = _delete(world, world.b_admin, "00000000-0000-4000-8000-000000000000").json()
    for key, status in (
        (world.b_admin, 404),
        (world.a_trips_viewer, 404),
        (world.a_sports_viewer, 403),
        (world.a_sports_uploader, 403),
    ):
        refused = _delete(world, key, photo_id)
        assert refused.status_code == status, refused.text
        if status == 404:
            error = refused.json()["error"]
            assert error == {**missing["error"], "message": error["message"]}
            assert error["message"] == missing["error"]["message"].replace(
                "00000000-0000-4000-8000-000000000000", photo_id
            )
        else:
            assert refused.json()["error"]["code"] == "auth.forbidden"
        assert _photo(world, photo_id).json()["updated_at"] == photo["updated_at"]
        assert all(httpx.get(url).status_code == 200 for url in links)

    deleted = _delete(world, world.a_admin, photo_id)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""

    gone = _photo(world, photo_id)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "photo.not_found"
    listed = httpx.get(f"{api}/v1/photos", params={"limit": 500}, headers=world.server.headers)
    assert photo_id not in {p["photo_id"] for p in listed.json()["items"]}
    for url in links:  # every signed link stops working, and so does an unsigned GET
        assert httpx.get(url).status_code == 404, url
        assert httpx.get(url.split("?", 1)[0]).status_code == 403, url
    assert _stored_files(world, photo) == []
    assert _delete(world, world.a_admin, photo_id).status_code == 404  # once only

    entries = httpx.get(
        f"{api}/v1/audit", params={"action": "photo.delete"}, headers=bearer(world.a_admin)
    ).json()["items"]
    entry = next(e for e in entries if e["details"]["photo_id"] == photo_id)
    assert entry["actor"] == f"key:{world.a_admin.split('_')[1]}"
    assert entry["service"] == "school-a" and entry["target"] == photo["key"]
    assert entry["at"] and entry["details"]["objects"] == len(links)
    theirs = httpx.get(
        f"{api}/v1/audit",
        params={"action": "photo.delete", "service": "school-a"},
        headers=bearer(world.b_admin),
    ).json()["items"]
    assert theirs == []
    viewer = httpx.get(f"{api}/v1/audit", headers=bearer(world.a_sports_viewer))
    assert viewer.status_code == 403


def test_a_failed_photo_is_deleted_from_the_command_line(world: World) -> None:
    api = world.api
    photo = settled(api, world.a_admin, upload(api, world.a_admin, make_jpeg(600, 400)[:2500]))
    assert photo["status"] == "failed"
    printed = world.server.run_cli("photos", "delete", photo["photo_id"], "--key", world.a_admin)
    assert printed.strip() == f"deleted {photo['photo_id']}"
    assert _photo(world, photo["photo_id"]).status_code == 404
    assert _stored_files(world, photo) == []
    redrive = httpx.post(
        f"{api}/v1/executions/{photo['execution_name']}/redrive", headers=bearer(world.a_admin)
    )
    assert redrive.status_code == 409 and redrive.json()["error"]["code"] == "photo.deleted"
    assert _photo(world, photo["photo_id"]).status_code == 404  # never brought back
    with pytest.raises(RuntimeError, match=r"photo\.not_found"):
        world.server.run_cli("photos", "delete", photo["photo_id"], "--key", world.a_admin)
    printed = world.server.run_cli("audit", "--key", world.server.admin_token, "--json")
    assert any(
        e["action"] == "photo.delete" and e["target"] == photo["key"]
        for e in json.loads(printed)["items"]
    )


def test_a_photo_waiting_for_its_upload_is_not_deleted_while_its_link_works(world: World) -> None:
    data = make_jpeg(900, 600)
    grant = presign(world.api, world.a_admin, data)
    assert grant.status_code == 201, grant.text
    photo_id = grant.json()["photo_id"]
    refused = _delete(world, world.a_admin, photo_id)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "photo.upload_open" and "pending" in error["message"]
    assert _photo(world, photo_id).json()["status"] == "pending"
    # The upload still goes through and is processed like any other; then it can be deleted.
    upload = grant.json()["upload"]
    assert httpx.put(upload["url"], content=data, headers=upload["headers"]).status_code == 200
    assert settled(world.api, world.a_admin, photo_id)["status"] == "ready"
    assert _delete(world, world.a_admin, photo_id).status_code == 204
