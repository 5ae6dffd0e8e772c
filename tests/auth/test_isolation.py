"""Another service's key, or a key for other albums, finds nothing and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.auth.conftest import World, bearer, presign
from tests.conftest import make_jpeg

pytestmark = pytest.mark.integration

MISSING = "00000000-0000-4000-8000-000000000000"


def snapshot(world: World) -> dict[str, Any]:
    """Everything of school-a as the admin token sees it."""
    headers = world.server.headers
    photos = httpx.get(f"{world.api}/v1/photos", params={"limit": 500}, headers=headers).json()
    executions = httpx.get(f"{world.api}/v1/executions", params={"limit": 1000}, headers=headers)
    return {
        "photos": sorted(
            (p["photo_id"], p["status"], p["updated_at"])
            for p in photos["items"]
            if p["key"].startswith("uploads/school-a/")
        ),
        "executions": sorted(
            (e["name"], e["status"], e["redrive_count"]) for e in executions.json()["items"]
        ),
    }


def test_another_services_key_gets_404_everywhere_and_changes_nothing(world: World) -> None:
    before = snapshot(world)
    api, b = world.api, bearer(world.b_admin)
    photo_id, name = world.ready["photo_id"], world.failed["execution_name"]

    def same_as_missing(path: str, method: str = "GET", **kwargs: Any) -> None:
        theirs = httpx.request(method, f"{api}{path}", headers=b, **kwargs)
        assert theirs.status_code == 404, (path, theirs.text)
        assert photo_id not in theirs.text or path.endswith(photo_id) or photo_id in path

    for path in (
        f"/v1/photos/{photo_id}",
        f"/v1/photos/{photo_id}/execution",
        f"/v1/photos/{photo_id}/original",
        f"/v1/photos/{world.failed['photo_id']}",
    ):
        same_as_missing(path)
    # A photo of another service answers exactly as a photo that does not exist.
    theirs = httpx.get(f"{api}/v1/photos/{photo_id}", headers=b).json()["error"]
    missing = httpx.get(f"{api}/v1/photos/{MISSING}", headers=b).json()["error"]
    assert theirs["code"] == missing["code"] == "photo.not_found"
    assert theirs["message"] == missing["message"].replace(MISSING, photo_id)

    same_as_missing(f"/v1/photos/{photo_id}", "DELETE")
    same_as_missing(f"/v1/photos/{world.failed['photo_id']}", "DELETE")
    same_as_missing(f"/v1/executions/{name}")
    same_as_missing(f"/v1/executions/{name}/redrive", "POST")
    same_as_missing(f"/v1/executions/{world.ready['execution_name']}/redrive", "POST")
    data = make_jpeg(300, 300)
    into_a = presign(api, world.b_admin, data, "sports", service="school-a")
    assert into_a.status_code == 404 and into_a.json()["error"]["code"] == "album.not_found"

    listed = httpx.get(f"{api}/v1/photos", params={"album": "sports"}, headers=b).json()
    assert listed["items"] == []  # school-b's own (empty) sports album, never school-a's
    everything = httpx.get(f"{api}/v1/photos", headers=b).json()
    assert everything["items"] == []
    albums = httpx.get(f"{api}/v1/albums", headers=b).json()
    assert albums["items"] == []
    audit = httpx.get(f"{api}/v1/audit", params={"service": "school-a"}, headers=b).json()
    assert audit["items"] == []
    with httpx.stream(
        "GET", f"{api}/v1/events", params={"since": 0}, headers=b, timeout=2
    ) as stream:
        seen = ""
        try:
            for text in stream.iter_text():
                seen += text
        except httpx.ReadTimeout:
            pass
    assert stream.status_code == 200 and photo_id not in seen and "event: photo" not in seen
    # Operations across services need the admin token.
    for path in ("/v1/executions", "/v1/status", "/metrics"):
        assert httpx.get(f"{api}{path}", headers=b).status_code == 403, path

    assert httpx.get(f"{api}/readyz").status_code == 200  # public, like /healthz
    assert snapshot(world) == before


def test_album_scoped_keys_see_and_upload_only_their_albums(world: World) -> None:
    api, photo_id = world.api, world.ready["photo_id"]
    trips = bearer(world.a_trips_viewer)
    assert httpx.get(f"{api}/v1/photos/{photo_id}", headers=trips).status_code == 404
    other = httpx.get(f"{api}/v1/photos", params={"album": "sports"}, headers=trips)
    assert other.status_code == 404 and other.json()["error"]["code"] == "album.not_found"
    assert httpx.get(f"{api}/v1/photos", headers=trips).json()["items"] == []

    sports = bearer(world.a_sports_viewer)
    shown = httpx.get(f"{api}/v1/photos/{photo_id}", headers=sports)
    assert shown.status_code == 200 and shown.json()["renditions"]["preview"]["url"]
    listed = httpx.get(f"{api}/v1/photos", params={"album": "sports"}, headers=sports).json()
    assert photo_id in {p["photo_id"] for p in listed["items"]}
    data = make_jpeg(300, 300)
    assert presign(api, world.a_sports_viewer, data).status_code == 403  # a viewer
    original = httpx.get(f"{api}/v1/photos/{photo_id}/original", headers=sports)
    assert original.status_code == 403  # originals: admin keys only
    redrive = httpx.post(
        f"{api}/v1/executions/{world.failed['execution_name']}/redrive", headers=sports
    )
    assert redrive.status_code == 403

    wrong_album = presign(api, world.a_sports_uploader, data, "trips")
    assert wrong_album.status_code == 404
    own = presign(api, world.a_sports_uploader, data, "sports")
    assert own.status_code == 201, own.text
    assert own.json()["key"].startswith("uploads/school-a/sports/")
    assert own.json()["key"].endswith(f"{own.json()['photo_id']}.jpg")


def test_requests_without_a_valid_key_are_refused_without_echoing_it(world: World) -> None:
    api = world.api
    assert httpx.get(f"{api}/healthz").status_code == 200
    for path in ("/v1/photos", "/v1/albums", "/v1/upload-policy", "/v1/audit", "/v1/whoami"):
        response = httpx.get(f"{api}{path}")
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] == "auth.required"
    guess = world.a_admin[:-4] + "AAAA"
    for token in (guess, "bks_000000000000_" + "x" * 43, "Bearer", "a" * 600):
        response = httpx.get(f"{api}/v1/photos", headers=bearer(token))
        assert response.status_code == 401
        assert token not in response.text
    revoked = world.server.create_key("school-a", role="viewer")
    assert httpx.get(f"{api}/v1/whoami", headers=bearer(revoked)).json()["service"] == "school-a"
    key_id = revoked.split("_")[1]
    world.server.run_cli("keys", "revoke", key_id, "--data-dir", str(world.server.data_dir))
    assert httpx.get(f"{api}/v1/whoami", headers=bearer(revoked)).status_code == 401


def _error(response: httpx.Response) -> tuple[int, str, str]:
    return response.status_code, response.headers["content-type"], response.text


def test_another_services_execution_answers_byte_for_byte_as_a_missing_one(world: World) -> None:
    """Same status, code and message, the name asked for aside, on every execution route."""
    api, b = world.api, bearer(world.b_admin)
    theirs = world.failed["execution_name"]
    missing = "IMG_0001-jpg-" + "0" * 16
    for method, template in (
        ("GET", "/v1/executions/{}"),
        ("POST", "/v1/executions/{}/redrive"),
    ):
        other = httpx.request(method, f"{api}{template.format(theirs)}", headers=b)
        absent = httpx.request(method, f"{api}{template.format(missing)}", headers=b)
        assert other.status_code == 404, other.text
        assert _error(other) == (*_error(absent)[:2], absent.text.replace(missing, theirs))
        assert other.json()["error"]["code"] == "execution.not_found"
    # photos too, on every route that names one
    photo_id = world.ready["photo_id"]
    for method, template in (
        ("GET", "/v1/photos/{}"),
        ("GET", "/v1/photos/{}/execution"),
        ("GET", "/v1/photos/{}/original"),
        ("DELETE", "/v1/photos/{}"),
    ):
        other = httpx.request(method, f"{api}{template.format(photo_id)}", headers=b)
        absent = httpx.request(method, f"{api}{template.format(MISSING)}", headers=b)
        assert other.status_code == 404, other.text
        assert _error(other) == (*_error(absent)[:2], absent.text.replace(MISSING, photo_id))
