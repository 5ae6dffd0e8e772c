"""Storage stays private, links are short and scoped, answers carry safe headers, admins audit."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from bakusoku.storage.presign import Presigner
from tests.auth.conftest import World, bearer, presign, settled, upload
from tests.conftest import make_jpeg
from tests.e2e.server import RunningServer

pytestmark = pytest.mark.integration


def test_rendition_links_are_signed_typed_and_never_named_after_the_upload(world: World) -> None:
    thumb = world.ready["renditions"]["preview"]["url"]
    query = parse_qs(urlsplit(thumb).query)
    assert int(query["X-Amz-Expires"][0]) <= 600  # minutes, not days
    response = httpx.get(thumb)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == 'inline; filename="preview.jpg"'
    assert "IMG_0001" not in response.headers["content-disposition"]
    unsigned = httpx.get(thumb.split("?", 1)[0])
    assert unsigned.status_code == 403 and "AccessDenied" in unsigned.text
    original_key = world.ready["key"]
    unsigned_original = httpx.get(
        f"http://127.0.0.1:{world.server.store_port}/bakusoku/{original_key}"
    )
    assert unsigned_original.status_code == 403
    # One link reaches one object: the same signature on a guessed key is refused.
    other = world.failed["key"]
    guessed = thumb.replace(urlsplit(thumb).path, f"/bakusoku/{other}")
    assert httpx.get(guessed).status_code == 403
    guessed = thumb.replace("/preview.jpg", "/print.jpg")
    assert httpx.get(guessed).status_code == 403


def test_store_refuses_traversal_overwrite_and_unsigned_writes(world: World) -> None:
    store = f"http://127.0.0.1:{world.server.store_port}"
    creds = yaml.safe_load((world.server.data_dir / "credentials.yml").read_text())
    presigner = Presigner(store, "us-east-1", creds["access_key_id"], creds["secret_access_key"])
    data = make_jpeg(200, 200)
    for key in ("uploads/school-a/../../escape.jpg", "uploads/school-a/./x.jpg", "/abs.jpg"):
        grant = presigner.presign_put(
            "bakusoku", key, content_type="image/jpeg", content_length=len(data), expires_in=60
        )
        refused = httpx.put(grant.url, content=data, headers=grant.headers)
        assert refused.status_code in (400, 403), (key, refused.text)
    assert not list(world.server.data_dir.rglob("escape.jpg"))
    raw = httpx.put(f"{store}/bakusoku/uploads/%2e%2e/%2e%2e/x.jpg", content=data)
    assert raw.status_code == 403
    assert httpx.put(f"{store}/bakusoku/{world.ready['key']}", content=data).status_code == 403
    grant = presign(world.api, world.a_admin, data).json()["upload"]
    assert httpx.put(grant["url"], content=data, headers=grant["headers"]).status_code == 200
    again = httpx.put(grant["url"], content=b"x" * len(data), headers=grant["headers"])
    assert again.status_code == 412  # never overwritten
    no_condition = {k: v for k, v in grant["headers"].items() if k != "If-None-Match"}
    assert httpx.put(grant["url"], content=data, headers=no_condition).status_code == 403
    moved = grant["url"].replace("/school-a/sports/", "/school-a/trips/")
    assert httpx.put(moved, content=data, headers=grant["headers"]).status_code == 403


def test_presign_expiry_defaults_to_15_minutes_and_is_capped_at_an_hour(world: World) -> None:
    data = make_jpeg(100, 100)
    default = presign(world.api, world.a_admin, data).json()
    assert parse_qs(urlsplit(default["upload"]["url"]).query)["X-Amz-Expires"] == ["900"]
    hour = presign(world.api, world.a_admin, data, expires_in=3600).json()
    assert parse_qs(urlsplit(hour["upload"]["url"]).query)["X-Amz-Expires"] == ["3600"]
    too_long = presign(world.api, world.a_admin, data, expires_in=3601)
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "expires_in"
    gif = presign(world.api, world.a_admin, data, content_type="image/gif")
    assert gif.status_code == 400


def test_presign_requests_are_rate_limited_per_key(world: World) -> None:
    key = world.server.create_key("school-a", role="uploader")
    data = make_jpeg(100, 100)
    answers = [presign(world.api, key, data) for _ in range(30)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and all(a.status_code in (201, 429) for a in answers)
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate.limited"
    assert presign(world.api, world.a_sports_uploader, data).status_code == 201  # other keys


def test_api_security_headers(world: World) -> None:
    page = httpx.get(f"{world.api}/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and page.headers["x-content-type-options"] == "nosniff"
    api = httpx.get(
        f"{world.api}/v1/photos",
        headers={**bearer(world.a_admin), "Origin": "https://evil.example"},
    )
    assert api.status_code == 200
    assert "access-control-allow-origin" not in api.headers
    assert api.headers["cache-control"] == "no-store"
    preflight = httpx.options(
        f"{world.api}/v1/photos",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers.get("access-control-allow-origin") in (None, "")


@pytest.mark.parametrize(
    "path", ["/v1/runner/me/", "/v1/runner/sessions/", "/img/a/b/c/", "/upload/", "/v1/photos/"]
)
def test_no_answer_redirects_to_the_host_the_request_named(world: World, path: str) -> None:
    # Location built from a client's Host header is an open redirect, and poisons any cache
    # in front of us that keys by path.
    response = httpx.get(f"{world.api}{path}", headers={"Host": "evil.example"})
    assert "evil.example" not in response.headers.get("location", "")
    assert response.status_code >= 400 and response.headers["content-type"] == "application/json"


def test_pages_may_show_pictures_from_the_transform_edge_and_only_show_them(
    tmp_path: Path,
) -> None:
    # The gallery's srcset points at transform_url (the stage's CloudFront distribution): a
    # page whose img-src leaves that origin out shows no picture at all.
    edge = "https://d111111abcdef8.cloudfront.net"
    server = RunningServer(tmp_path / "data", workers=1, extra_env={"BAKUSOKU_TRANSFORM_URL": edge})
    server.start()
    try:
        key = server.create_key("school-a", role="admin")
        photo_id = upload(server.api, key, make_jpeg(900, 600))
        photo = settled(server.api, key, photo_id)
        page = httpx.get(f"{server.api}/")
    finally:
        assert server.stop() == 0, server.log()
    assert all(c["url"].startswith(edge + "/img/") for c in photo["images"]["grid"])
    directives = dict(
        d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";")
    )
    assert edge in directives["img-src"].split()
    assert edge not in directives["connect-src"]  # pictures only: no script talks to it


def test_originals_for_admins_and_the_audit_log(world: World) -> None:
    api, photo_id = world.api, world.ready["photo_id"]
    grant = httpx.get(f"{api}/v1/photos/{photo_id}/original", headers=bearer(world.a_admin))
    assert grant.status_code == 200, grant.text
    original = httpx.get(grant.json()["url"])
    assert original.status_code == 200 and original.content[:2] == b"\xff\xd8"
    assert original.headers["content-disposition"] == f'attachment; filename="{photo_id}.jpg"'
    assert original.headers["x-content-type-options"] == "nosniff"

    redriven = httpx.post(
        f"{api}/v1/executions/{world.failed['execution_name']}/redrive",
        headers=bearer(world.a_admin),
    )
    assert redriven.status_code == 200, redriven.text

    key = world.server.create_key("school-a", role="viewer")
    world.server.run_cli(
        "keys", "revoke", key.split("_")[1], "--data-dir", str(world.server.data_dir)
    )

    entries = httpx.get(f"{api}/v1/audit", headers=bearer(world.a_admin)).json()["items"]
    actions = {(e["action"], e["target"]) for e in entries}
    assert ("original.download", world.ready["key"]) in actions
    assert ("execution.redrive", world.failed["execution_name"]) in actions
    assert ("key.create", key.split("_")[1]) in actions
    assert ("key.revoke", key.split("_")[1]) in actions
    assert all(e["service"] == "school-a" and e["actor"] and e["at"] for e in entries)
    assert world.a_admin not in json.dumps(entries)
    for viewer in (world.a_sports_viewer, world.b_admin):
        seen = httpx.get(f"{api}/v1/audit", headers=bearer(viewer))
        assert seen.status_code == 403 or all(
            e["service"] != "school-a" for e in seen.json()["items"]
        )
    printed = world.server.run_cli("audit", "--key", world.server.admin_token, "--json")
    assert {"original.download", "key.revoke"} <= {
        e["action"] for e in json.loads(printed)["items"]
    }
    listed = world.server.run_cli("keys", "list", "--data-dir", str(world.server.data_dir))
    assert "school-b" in listed and world.b_admin.split("_", 2)[2] not in listed


def test_another_service_cannot_upload_over_or_beside_the_first(world: World) -> None:
    photo_id = upload(world.api, world.b_admin, make_jpeg(300, 200), album="sports")
    shown = httpx.get(f"{world.api}/v1/photos/{photo_id}", headers=bearer(world.b_admin)).json()
    assert shown["key"].startswith("uploads/school-b/sports/")
    assert (
        httpx.get(f"{world.api}/v1/photos/{photo_id}", headers=bearer(world.a_admin)).status_code
        == 404
    )
